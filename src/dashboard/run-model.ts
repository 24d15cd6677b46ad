/** What the run page reads out of a journal beyond the timeline: the tree of child runs and agents, where an error was raised, where a run was interrupted and resumed, its ledgers and its chat. */

import type { TimelineEntry } from './timeline-model.js';

/** The scope of a journal key: `r/1#3` → `r/1`. */
export function scopeOf(key: string): string {
  const hash = key.indexOf('#');
  return hash === -1 ? key : key.slice(0, hash);
}

/** Whether `outer` is `inner` or encloses it (`r` encloses `r/2.0`). */
export function encloses(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/** The separator of a distributed child's run id (`<parent>.child.<key>`), as the kernel writes it. */
const childIdSeparator = '.child.';

/**
 * The parent of a distributed child run, read from its id.
 *
 * @example
 * ```ts
 * parentRunId('run_1.child.r_2'); // 'run_1'
 * ```
 */
export function parentRunId(runId: string): string | undefined {
  const at = runId.lastIndexOf(childIdSeparator);
  return at > 0 ? runId.slice(0, at) : undefined;
}

/** One node of the run tree. */
export interface TreeNode {
  kind: 'run' | 'child' | 'agent' | 'spawn';
  label: string;
  /** A child run's scope (`r/1`), the root's `r`. */
  scope?: string;
  /** The journal position to open: a child's `run:` step, an agent's first step. */
  position?: number;
  /** A distributed child's run id (its own page). */
  runId?: string;
  /** Patterns seen in this run's own steps (from ledger and decision meta). */
  patterns: string[];
  /** First start and last end of its steps (ms since the epoch); `end` is undefined while it runs. */
  start: number | undefined;
  end: number | undefined;
  steps: number;
  /** Its failed steps (a failed tool call the model recovered from counts too). */
  failures: number;
  children: TreeNode[];
}

/** The structured fields of a failed step's error (`agent`, `tool`, `errorClass`, …). */
function errorData(entry: TimelineEntry): Record<string, unknown> {
  return (entry as { error?: { data?: Record<string, unknown> } }).error?.data ?? {};
}

/** The child run a scope belongs to: the scope cut after its last child-run segment (`r/1/2.0` → `r/1`; branches are not runs). */
function runScopeOf(scope: string): string {
  const parts = scope.split('/');
  while (parts.length > 1 && (parts.at(-1) ?? '').includes('.')) parts.pop();
  return parts.join('/');
}

/**
 * The tree of a run: the run, its child runs (`ctx.run`, nested by scope; a distributed child is
 * a link to its own run), and in each the agents that ran there, with the latency of each. In a
 * fork, `sharedBefore` is the position of its first step of its own: the steps before it are the
 * original's (with its times, perhaps days earlier), so they count but time a node only when it
 * has no step of its own.
 *
 * @example
 * ```ts
 * const root = runTree(entries, 'support');
 * root.children[0].label; // 'billing'
 * ```
 */
export function runTree(entries: readonly TimelineEntry[], target: string, sharedBefore = 0): TreeNode {
  const node = (kind: TreeNode['kind'], label: string): TreeNode => ({
    kind,
    label,
    patterns: [],
    start: undefined,
    end: undefined,
    steps: 0,
    failures: 0,
    children: [],
  });
  const root = { ...node('run', target), scope: 'r' };
  const runs = new Map<string, TreeNode>([['r', root]]);
  const agents = new Map<string, TreeNode>();
  /** The times of nodes from the shared steps of a fork, used where a node has none of its own. */
  const sharedTimes = new Map<TreeNode, { start: number; end: number }>();
  const time = (target: TreeNode, entry: TimelineEntry, position: number): void => {
    if (position < sharedBefore) {
      const times = sharedTimes.get(target);
      if (times === undefined) sharedTimes.set(target, { start: entry.startedAt, end: entry.endedAt });
      else {
        times.start = Math.min(times.start, entry.startedAt);
        times.end = Math.max(times.end, entry.endedAt);
      }
      return;
    }
    target.start = target.start === undefined ? entry.startedAt : Math.min(target.start, entry.startedAt);
    target.end = target.end === undefined ? entry.endedAt : Math.max(target.end, entry.endedAt);
  };
  const widen = (target: TreeNode, entry: TimelineEntry, position: number): void => {
    time(target, entry, position);
    target.steps++;
    if (entry.status === 'failed') target.failures++;
  };
  /** The node of the child run at `scope`, made (with its parents) when first seen. */
  const runAt = (scope: string): TreeNode => {
    const found = runs.get(scope);
    if (found !== undefined) return found;
    const cut = scope.lastIndexOf('/');
    const parent = runAt(runScopeOf(scope.slice(0, cut)));
    const child = { ...node('child', `child #${scope.slice(cut + 1)}`), scope };
    runs.set(scope, child);
    parent.children.push(child);
    return child;
  };
  entries.forEach((entry, index) => {
    const position = index + 1;
    const scope = scopeOf(entry.key);
    const owner = runAt(runScopeOf(scope));
    if (entry.kind === 'child') {
      // The `run:<name>` step at `r#1` is the child run of scope `r/1`.
      const child = runAt(`${scope}/${entry.key.slice(scope.length + 1).split('~')[0]}`);
      child.label = entry.name.replace(/^run:/, '');
      child.position = position;
      time(child, entry, position);
      if (entry.status === 'failed') child.failures++;
      return;
    }
    if (entry.name.startsWith('spawn:') && typeof entry.result === 'string') {
      const label = entry.name.slice('spawn:'.length);
      // A distributed `ctx.run` has a child scope of its own holding only the spawn and the
      // wait for its end: that scope is the spawned run (its latency the parent's wait).
      if (owner.kind === 'child' && owner.position === undefined && owner.children.length === 0) {
        Object.assign(owner, { kind: 'spawn', label, runId: entry.result, position });
        widen(owner, entry, position);
        return;
      }
      const spawned = { ...node('spawn', label), runId: entry.result, position };
      widen(spawned, entry, position);
      owner.children.push(spawned);
      return;
    }
    const pattern = entry.meta?.pattern;
    if (typeof pattern === 'string' && !owner.patterns.includes(pattern)) owner.patterns.push(pattern);
    widen(owner, entry, position);
    // A failed tool step records no meta; its error names the agent.
    const agent = entry.meta?.agent ?? errorData(entry).agent;
    if (typeof agent !== 'string' || (entry.kind !== 'model' && entry.kind !== 'tool')) return;
    const agentKey = `${owner.scope} ${agent}`;
    let agentNode = agents.get(agentKey);
    if (agentNode === undefined) {
      agentNode = { ...node('agent', agent), position };
      agents.set(agentKey, agentNode);
      owner.children.push(agentNode);
    }
    widen(agentNode, entry, position);
  });
  // A child's steps count toward the run that holds it.
  const total = (tree: TreeNode): void => {
    for (const child of tree.children) {
      total(child);
      if (child.kind === 'child' || child.kind === 'spawn') {
        if (child.start !== undefined) tree.start = Math.min(tree.start ?? child.start, child.start);
        if (child.end !== undefined) tree.end = Math.max(tree.end ?? child.end, child.end);
      }
    }
  };
  total(root);
  // A node of a fork that ran only in the shared steps: timed as the original ran it.
  for (const [shared, times] of sharedTimes) {
    if (shared.start !== undefined) continue;
    shared.start = times.start;
    shared.end = times.end;
  }
  return root;
}

/**
 * Where a step sits: the run, the child runs around it (by name), its agent and its tool, e.g.
 * `['parent', 'billing', 'agent billing', 'tool charge']`.
 *
 * @example
 * ```ts
 * stepRoute(entries, 9, 'parent').join(' › ');
 * ```
 */
export function stepRoute(entries: readonly TimelineEntry[], position: number, target: string): string[] {
  const entry = entries[position - 1];
  if (entry === undefined) return [target];
  const names = new Map<string, string>();
  for (const other of entries)
    if (other.kind === 'child')
      names.set(other.key.split('~')[0] ?? other.key, other.name.replace(/^run:/, ''));
  const route = [target];
  const parts = scopeOf(entry.key).split('/');
  for (let index = 1; index < parts.length; index++) {
    const part = parts[index] ?? '';
    if (part.includes('.')) continue;
    // The child run of scope `…/1.0/0` is the `run:` step at `…/1.0#0` (in the branch that ran it).
    route.push(names.get(`${parts.slice(0, index).join('/')}#${part}`) ?? `child #${part}`);
  }
  const data = errorData(entry);
  const agent = entry.meta?.agent ?? (typeof data.agent === 'string' ? data.agent : undefined);
  if (typeof agent === 'string' && agent !== route.at(-1)) route.push(`agent ${agent}`);
  const tool =
    entry.kind === 'tool'
      ? typeof entry.meta?.tool === 'string'
        ? entry.meta.tool
        : entry.name.replace(/^tool:/, '')
      : typeof data.tool === 'string'
        ? data.tool
        : undefined;
  if (tool !== undefined) route.push(`tool ${tool}`);
  else route.push(entry.name);
  return route;
}

/** Where a run stopped and went on: between journal positions `before` and `after`. */
export interface Interruption {
  /** The last step recorded before the interruption. */
  before: number;
  /** The first step recorded after it. */
  after: number;
  /** When the last step before ended (ms since the epoch). */
  stoppedAt: number;
  /** When the first step after started. */
  resumedAt: number;
}

/** Kinds of step that wait on purpose: a pause before or after them is the run waiting, not interrupted. */
const waiting = new Set(['signal', 'sleep', 'timer']);

/**
 * Where a run was interrupted and resumed. The journal records no execution of its own, so this
 * reads the step times: within one execution a step starts as soon as the one before it is
 * recorded, so a pause of more than `gapMs` before a step that is not a wait, after a step that
 * is not a wait, is a crash or a stop followed by a resume (whose replay returned the recorded
 * steps at once and ran the next one for real). In a fork, `forkedAt` is the position of its first
 * step of its own: the pause before it is the time between the original run and the fork.
 *
 * @example
 * ```ts
 * interruptions(entries); // [{ before: 2, after: 3, stoppedAt, resumedAt }]
 * ```
 */
export function interruptions(
  entries: readonly TimelineEntry[],
  gapMs = 2000,
  forkedAt?: number,
): Interruption[] {
  const found: Interruption[] = [];
  let lastEnd: number | undefined;
  let lastPosition = 0;
  let lastKind = '';
  entries.forEach((entry, index) => {
    if (
      lastEnd !== undefined &&
      entry.startedAt - lastEnd > gapMs &&
      index + 1 !== forkedAt &&
      !waiting.has(entry.kind) &&
      !waiting.has(lastKind)
    )
      found.push({ before: lastPosition, after: index + 1, stoppedAt: lastEnd, resumedAt: entry.startedAt });
    if (lastEnd === undefined || entry.endedAt >= lastEnd) {
      lastEnd = entry.endedAt;
      lastPosition = index + 1;
      lastKind = entry.kind;
    }
  });
  return found;
}

/** One message of a chat thread. */
export interface ChatLine {
  speaker: string;
  text: string;
  /** The model step that said it (for messages read from the journal). */
  position?: number;
}

/**
 * A group chat's thread: from the run's output (`{ messages: [{ speaker, text }] }`, as
 * `groupChat` returns it) when there is one, else, while a run whose agents take turns runs,
 * from the journal: the input, then each model step's answer in `scope` by its agent.
 * `undefined` when the run is not a chat (a handoff, a single agent, a magentic team's ledgers).
 *
 * @example
 * ```ts
 * chatThread(run.output, run.input, entries)?.[1]; // { speaker: 'a', text: 'a says 0', position: 1 }
 * ```
 */
export function chatThread(
  output: unknown,
  input: unknown,
  entries: readonly TimelineEntry[],
  scope = 'r',
): ChatLine[] | undefined {
  const messages = (output as { messages?: unknown } | undefined)?.messages;
  if (
    Array.isArray(messages) &&
    messages.length > 0 &&
    messages.every(
      (message) =>
        typeof message === 'object' &&
        message !== null &&
        typeof (message as ChatLine).speaker === 'string' &&
        typeof (message as ChatLine).text === 'string',
    )
  )
    return (messages as ChatLine[]).map(({ speaker, text }) => ({ speaker, text }));
  if (output !== undefined) return undefined;
  const lines: ChatLine[] = [];
  const speakers = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    if (entry.name.startsWith('ledger:') || entry.name.startsWith('spawn:')) return undefined;
    if (entry.kind !== 'model' || scopeOf(entry.key) !== scope || entry.status !== 'completed') continue;
    const answer = entry.result as { text?: unknown; toolCalls?: { toolName?: string }[] } | undefined;
    if ((answer?.toolCalls ?? []).some((call) => call.toolName?.startsWith('transfer_to_') === true))
      return undefined;
    const speaker = entry.meta?.agent;
    if (typeof speaker !== 'string' || typeof answer?.text !== 'string' || answer.text === '') continue;
    speakers.add(speaker);
    lines.push({ speaker, text: answer.text, position: index + 1 });
  }
  if (speakers.size < 2) return undefined;
  return [{ speaker: 'user', text: typeof input === 'string' ? input : JSON.stringify(input) }, ...lines];
}

/** A journaled ledger: its step, round and data. */
export interface LedgerEntry {
  position: number;
  ledger: string;
  round: number | undefined;
  data: unknown;
}

/**
 * The ledgers a run journaled (`ledger:<name>` steps), in order.
 *
 * @example
 * ```ts
 * ledgers(entries).filter((ledger) => ledger.ledger === 'progress');
 * ```
 */
export function ledgers(entries: readonly TimelineEntry[]): LedgerEntry[] {
  const found: LedgerEntry[] = [];
  entries.forEach((entry, index) => {
    if (!entry.name.startsWith('ledger:') || entry.status !== 'completed') return;
    const round = entry.meta?.round;
    found.push({
      position: index + 1,
      ledger: typeof entry.meta?.ledger === 'string' ? entry.meta.ledger : entry.name.slice('ledger:'.length),
      round: typeof round === 'number' ? round : undefined,
      data: entry.result,
    });
  });
  return found;
}
