/** A run's journal, input and conversation as the agents' guardrails left them (a redacted email shows redacted), and how much of a running run's journal is settled enough to show. */

import type { Message } from '../context/messages.js';
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
 * latest model step in the same or an enclosing scope that asked for that tool. Tool-input
 * decisions are not journaled; the arguments a call ran with are, by its `toolCallId`, when they
 * differ from the model's: in its tool step's meta (`toolCallId`, `input`) and in its approval
 * request (see {@link guardedMessages}). Prompts recorded with `journalPrompts` are already
 * what the model got, after the guardrails.
 *
 * @example
 * ```ts
 * const shown = guardedJournal(await runtime.journal(runId));
 * ```
 */
export function guardedJournal(journal: readonly JournalEntry[]): JournalEntry[] {
  const copy = journal.map((entry) => ({ ...entry }));
  settleChains(copy);
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
  const ranWith = argumentsRunWith(journal);
  if (ranWith.size > 0)
    for (const model of models) {
      const answer = model.result as RecordedAnswer | undefined;
      if (!answer?.toolCalls?.some((call) => ranWith.has(call.toolCallId ?? ''))) continue;
      model.result = {
        ...answer,
        toolCalls: answer.toolCalls.map((call) => {
          const input = ranWith.get(call.toolCallId ?? '');
          return input === undefined ? call : { ...call, input };
        }),
      };
    }
  return copy;
}

/**
 * The arguments tool calls ran with (or wait to run with), as JSON by `toolCallId`, where they
 * differ from what the model asked: recorded in a tool step's meta when a hook rewrote them, and
 * in an approval request (made after the `tool-input` guardrails; a denial comes before them).
 */
function argumentsRunWith(journal: readonly JournalEntry[]): Map<string, string> {
  const asked = new Map<string, string>();
  const ran = new Map<string, string>();
  for (const entry of journal) {
    if (entry.kind === 'model') {
      for (const call of (entry.result as RecordedAnswer | undefined)?.toolCalls ?? [])
        if (typeof call.toolCallId === 'string' && typeof call.input === 'string')
          asked.set(call.toolCallId, call.input);
      continue;
    }
    const meta = entry.meta;
    if (entry.kind === 'tool' && typeof meta?.toolCallId === 'string' && typeof meta.input === 'string') {
      ran.set(meta.toolCallId, meta.input);
      continue;
    }
    const request = entry.result as { kind?: unknown; toolCallId?: unknown; input?: unknown } | undefined;
    if (
      request?.kind === 'approval' &&
      typeof request.toolCallId === 'string' &&
      entry.status === 'completed'
    )
      ran.set(request.toolCallId, JSON.stringify(request.input ?? null));
  }
  for (const [id, input] of ran) if (sameJson(asked.get(id), input)) ran.delete(id);
  return ran;
}

/** Whether two JSON texts hold the same value (key order counts: arguments are compared as parsed, then written again). */
function sameJson(left: string | undefined, right: string): boolean {
  if (left === undefined) return false;
  if (left === right) return true;
  try {
    return JSON.stringify(JSON.parse(left)) === right;
  } catch {
    return false;
  }
}

/**
 * A run's conversation (the messages it added to its thread) as its agents' guardrails left it:
 * the arguments of a tool call that a `tool-input` guardrail rewrote are replaced by those it ran
 * with, as in {@link guardedJournal} (matched by `toolCallId`). The rest of a run's messages are
 * already what the guardrails left (the input, tool results and answers are rewritten before they
 * join the conversation). Messages are copied only where changed.
 *
 * @example
 * ```ts
 * const shown = guardedMessages(messagesOfTheRun, await runtime.journal(runId));
 * ```
 */
export function guardedMessages(messages: readonly Message[], journal: readonly JournalEntry[]): Message[] {
  const ranWith = argumentsRunWith(journal);
  if (ranWith.size === 0) return [...messages];
  return messages.map((message) => {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) return message;
    if (!message.content.some((part) => part.type === 'tool-call' && ranWith.has(part.toolCallId)))
      return message;
    return {
      ...message,
      content: message.content.map((part) => {
        const input = part.type === 'tool-call' ? ranWith.get(part.toolCallId) : undefined;
        return input === undefined ? part : { ...part, input: JSON.parse(input) as unknown };
      }),
    };
  });
}

/** A guardrail's rewrite or trip, as journaled (a pass records nothing). */
const isDecision = (entry: JournalEntry): boolean =>
  entry.name.startsWith('guardrail:') && entry.status === 'completed' && decisionText(entry) !== undefined;

/**
 * Guardrails run in order on one text, each on what the one before left, and each rewrite is
 * journaled with its text: an earlier one's text may hold what a later one redacted (redactPii's
 * text still has the key redactSecrets removes next). So every rewrite of such a chain (the
 * decisions of one stage, tool and scope recorded one after another, each guardrail once) shows
 * the chain's last text (or its withheld marker), in place.
 */
function settleChains(copy: JournalEntry[]): void {
  const open = new Map<string, JournalEntry[]>();
  const close = (chain: JournalEntry[] | undefined): void => {
    if (chain === undefined || chain.length < 2) return;
    const last = decisionText(chain.at(-1) as JournalEntry);
    for (const entry of chain.slice(0, -1)) {
      const verdict = entry.result as { action?: unknown };
      if (verdict.action === 'rewrite') entry.result = { ...verdict, text: last };
    }
  };
  for (const entry of copy) {
    const scope = scopeOf(entry.key);
    const chain = open.get(scope);
    if (!isDecision(entry)) {
      close(chain);
      open.delete(scope);
      continue;
    }
    const first = chain?.[0];
    if (
      chain !== undefined &&
      first !== undefined &&
      first.meta?.stage === entry.meta?.stage &&
      first.meta?.tool === entry.meta?.tool &&
      !chain.some((earlier) => earlier.name === entry.name)
    ) {
      chain.push(entry);
      continue;
    }
    close(chain);
    open.set(scope, [entry]);
  }
  for (const chain of open.values()) close(chain);
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
 * The run with its input as the input guardrails left it (a redacted email shows redacted), when
 * one of them rewrote or refused it; else the run as stored. The decisions taken on the run's own
 * input are marked (`meta.runInput`), whichever member got it: a pattern's first member decides in
 * its own scope (`r/0`). When members that each got the input were left different texts by their
 * guardrails (one hid an email, another a phone number), neither text hides everything, so the
 * input is withheld. Journals written before decisions were marked: the decisions in the run's
 * own scope (`r`).
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
  let unmarked: string | undefined;
  /** The text each scope's decisions on the run's input left, by scope (one member's view). */
  const views = new Map<string, string>();
  for (const entry of journal) {
    if (!entry.name.startsWith('guardrail:') || entry.meta?.stage !== 'input' || entry.status !== 'completed')
      continue;
    const text = decisionText(entry);
    if (text === undefined) continue;
    const scope = scopeOf(entry.key);
    if (entry.meta.runInput === true) views.set(scope, text);
    else if (scope === 'r') unmarked = text;
  }
  if (views.size === 0) return unmarked === undefined ? record : { ...record, input: unmarked };
  const texts = new Set(views.values());
  const input =
    texts.size === 1
      ? (texts.values().next().value as string)
      : `[withheld: ${texts.size} agents' input guardrails left different texts of this input]`;
  return { ...record, input };
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
 * in it, and so is the next guardrail's decision on the text a decision left; so a model or tool
 * step, or a guardrail's decision, is settled once a later entry exists in its scope, an
 * enclosing one, or one a later step opened in it, or the run is not running (suspended or
 * ended). Other steps are settled at once.
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
      (entry.kind === 'model' || entry.kind === 'tool' || entry.name.startsWith('guardrail:')) &&
      !later.some((other) => movedOn(entry.key, other))
    )
      settled = index;
    if (!later.includes(scope)) later.push(scope);
  }
  return settled;
}
