/** A run's journal and input as the agents' guardrails left them (a redacted email shows redacted), and how much of a running run's journal is settled enough to show. */

import type { JournalEntry, RunRecord, RunStatus } from '../core/store.js';

/** A model call's answer as the journal holds it. */
interface RecordedAnswer {
  text?: string;
  toolCalls?: Array<{ toolCallId?: string; toolName?: string; input?: string }>;
}

/** What replaced a text that a guardrail rewrote or withheld; `undefined` for a pass. */
function decisionText(entry: JournalEntry): string | undefined {
  const verdict = entry.result as { action?: unknown; text?: unknown; reason?: unknown } | undefined;
  if (verdict?.action === 'rewrite' && typeof verdict.text === 'string') return verdict.text;
  if (verdict?.action === 'trip')
    return `[withheld: guardrail ${String(entry.meta?.guardrail ?? entry.name)} tripped: ${String(verdict.reason ?? '')}]`;
  return undefined;
}

const scopeOf = (key: string): string => {
  const hash = key.indexOf('#');
  return hash === -1 ? key : key.slice(0, hash);
};

/** Whether `outer` is `inner` or one of its enclosing scopes (`r` encloses `r/2.0`). */
const encloses = (outer: string, inner: string): boolean => inner === outer || inner.startsWith(`${outer}/`);

/**
 * The journal as the agents' guardrails left its content, entries copied (the input is not
 * changed): a tool output that a `tool-output` guardrail rewrote (or tripped on) is replaced by
 * the rewritten text (or a withheld marker), so is the final answer of a model call that an
 * `output` guardrail rewrote, and so are a model call's tool-call arguments that a `tool-input`
 * guardrail rewrote. The decisions are the journal's own `guardrail:<name>` entries, matched to
 * the latest tool step of that tool (or model step) in the same scope; tool arguments to the
 * latest model step in the same or an enclosing scope that asked for that tool. Prompts recorded
 * with `journalPrompts` are already what the model got, after the guardrails.
 *
 * @example
 * ```ts
 * const shown = guardedJournal(await runtime.journal(runId));
 * ```
 */
export function guardedJournal(journal: readonly JournalEntry[]): JournalEntry[] {
  const copy = journal.map((entry) => ({ ...entry }));
  const lastTool = new Map<string, JournalEntry>();
  const lastModel = new Map<string, JournalEntry>();
  const models: JournalEntry[] = [];
  /** Tool calls already rewritten, by model entry, so two rewrites of one tool's calls hit two calls. */
  const rewritten = new Map<JournalEntry, Set<number>>();
  for (const entry of copy) {
    const scope = scopeOf(entry.key);
    if (entry.kind === 'tool') {
      const tool = typeof entry.meta?.tool === 'string' ? entry.meta.tool : entry.name.replace(/^tool:/, '');
      lastTool.set(`${scope} ${tool}`, entry);
      lastTool.set(`${scope} `, entry);
    } else if (entry.kind === 'model') {
      lastModel.set(scope, entry);
      models.push(entry);
    } else if (entry.name.startsWith('guardrail:') && entry.status === 'completed') {
      const text = decisionText(entry);
      if (text === undefined) continue;
      const stage = entry.meta?.stage;
      const tool = typeof entry.meta?.tool === 'string' ? entry.meta.tool : '';
      if (stage === 'tool-output') {
        const target = lastTool.get(`${scope} ${tool}`);
        if (target !== undefined) target.result = text;
      } else if (stage === 'output') {
        const target = lastModel.get(scope);
        if (target !== undefined) target.result = { ...(target.result as RecordedAnswer), text };
      } else if (stage === 'tool-input') {
        rewriteToolInput(models, rewritten, scope, tool, text);
      }
    }
  }
  return copy;
}

/** Replaces the arguments of the call of `tool` (in the latest model step of `scope` or an enclosing one) by `text`. */
function rewriteToolInput(
  models: readonly JournalEntry[],
  rewritten: Map<JournalEntry, Set<number>>,
  scope: string,
  tool: string,
  text: string,
): void {
  for (let index = models.length - 1; index >= 0; index--) {
    const model = models[index] as JournalEntry;
    const modelScope = scopeOf(model.key);
    if (!encloses(modelScope, scope)) continue;
    const answer = (model.result ?? {}) as RecordedAnswer;
    const calls = answer.toolCalls ?? [];
    const done = rewritten.get(model) ?? new Set<number>();
    // A call in a parallel branch `…/<n>.<b>` is the model's call number `b`.
    const branch = /^\/\d+\.(\d+)/.exec(scope.slice(modelScope.length))?.[1];
    let at = branch === undefined ? -1 : Number(branch);
    if (calls[at]?.toolName !== tool || done.has(at))
      at = calls.findIndex((call, position) => call.toolName === tool && !done.has(position));
    if (at === -1) return;
    done.add(at);
    rewritten.set(model, done);
    model.result = {
      ...answer,
      toolCalls: calls.map((call, position) => (position === at ? { ...call, input: text } : call)),
    };
    return;
  }
}

/**
 * The run with its input as the top agent's `input` guardrails left it (a redacted email shows
 * redacted), when one of them rewrote or refused it; else the run as stored.
 *
 * @example
 * ```ts
 * const shown = withGuardedInput(await runtime.get(runId), await runtime.journal(runId));
 * ```
 */
export function withGuardedInput<RUN extends Pick<RunRecord, 'input'>>(
  record: RUN,
  journal: readonly JournalEntry[],
): RUN {
  let input: unknown;
  for (const entry of journal) {
    if (!entry.name.startsWith('guardrail:') || entry.meta?.stage !== 'input' || scopeOf(entry.key) !== 'r')
      continue;
    input = decisionText(entry) ?? input;
  }
  return input === undefined ? record : { ...record, input };
}

/**
 * Whether an entry in scope `other` shows that the scope of the step at `key` moved on past it:
 * `other` is that scope or an enclosing one, or a scope opened inside it by a later step (the
 * child run or parallel at a higher sequence number), not a sibling branch.
 */
function movedOn(key: string, other: string): boolean {
  const scope = scopeOf(key);
  if (encloses(other, scope)) return true;
  if (!other.startsWith(`${scope}/`)) return false;
  const sequence = Number(key.slice(scope.length + 1).split('~')[0]);
  const opened = Number(/^\/(\d+)/.exec(other.slice(scope.length))?.[1]);
  return opened > sequence;
}

/**
 * How many entries, from the start of a journal, are settled: their content will not be
 * rewritten by a guardrail decision not yet recorded. A guardrail's decision on a tool's output
 * or a model's answer is journaled after that step, in the same scope, before anything else runs
 * in it; so a model or tool step is settled once a later entry exists in its scope, an
 * enclosing one, or one a later step opened in it, or the run is not running (suspended or ended). Other steps are settled at once.
 * Show a running run's content up to here only; the rest follows on the next read.
 *
 * @example
 * ```ts
 * const journal = await runtime.journal(runId);
 * const shown = guardedJournal(journal).slice(0, settledLength(journal, record.status));
 * ```
 */
export function settledLength(journal: readonly JournalEntry[], status: RunStatus): number {
  if (status !== 'running') return journal.length;
  // Walking back: the scopes with an entry after the current one.
  const later: string[] = [];
  let settled = journal.length;
  for (let index = journal.length - 1; index >= 0; index--) {
    const entry = journal[index] as JournalEntry;
    const scope = scopeOf(entry.key);
    if (
      (entry.kind === 'model' || entry.kind === 'tool') &&
      !later.some((other) => movedOn(entry.key, other))
    )
      settled = index;
    if (!later.includes(scope)) later.push(scope);
  }
  return settled;
}
