/** A run's journal laid out as a Gantt chart: one row per step (offset, latency, depth) and markers for handoffs, decisions, ledgers, waits and errors. */

/** The parts of a journal entry the timeline reads. */
export interface TimelineEntry {
  key: string;
  name: string;
  kind: string;
  status: string;
  startedAt: number;
  endedAt: number;
  result?: unknown;
  meta?: { agent?: string; [field: string]: unknown };
}

/** What a marker stands for. */
export type MarkerKind = 'handoff' | 'speaker' | 'decision' | 'ledger' | 'wait' | 'error' | 'resume';

/** A moment worth seeing on the timeline, tied to the step that recorded it. */
export interface Marker {
  kind: MarkerKind;
  /** The journal position (1-based) of the step. */
  position: number;
  /** When, in ms since the timeline's start. */
  offset: number;
  label: string;
}

/** One bar of the chart. */
export interface TimelineRow {
  /** The journal position (1-based): the order the step was recorded in. */
  position: number;
  entry: TimelineEntry;
  /** Nesting: 0 for the run's own steps, 1 inside a child run or a parallel branch, … */
  depth: number;
  /** ms from the timeline's start to the step's start. */
  offset: number;
  /** The step's latency in ms (`endedAt - startedAt`). */
  latency: number;
  /** Markers of this step. */
  markers: Marker[];
  /** The run was interrupted just before this step (and resumed with it): how long it stood still, in ms. */
  resumedAfter?: number;
  /** A fork's step shared with the original (recorded by it, before the fork was made): laid at the start. */
  shared?: true;
}

/** The whole chart. */
export interface Timeline {
  /** Its start (ms since the epoch): the run's creation, or its first step if earlier. */
  start: number;
  /** Its length in ms (at least 1). */
  span: number;
  /** Rows by start time (then journal position). */
  rows: TimelineRow[];
  markers: Marker[];
}

/** The run the timeline belongs to. */
export interface TimelineRun {
  createdAt: number;
  endedAt?: number;
  status: string;
}

/** Options of {@link layoutTimeline}. */
export interface LayoutOptions {
  /** Only the steps in this scope and the scopes inside it (a child run: `r/1`); all by default. */
  scope?: string;
  /** Where the run was interrupted: the positions of the first step after each interruption. */
  resumedAt?: readonly { before: number; after: number; stoppedAt: number; resumedAt: number }[];
  /**
   * In a fork: the position of its first step of its own. The steps before it are the original's,
   * with the original's times (perhaps days earlier): they are laid at the start, marked `shared`,
   * and the chart is scaled to the fork's own steps.
   */
  sharedBefore?: number;
}

const scopeDepth = /\//g;

/**
 * Lays out `entries` (in journal order) of `run`. A run that has not ended stretches to `now`.
 * Where a model step's agent differs from the previous model step's in the same scope, control
 * moved (the journal has no step of its own for it): a handoff when that previous step asked for
 * a `transfer_to_…` tool, else a speaker selection (a group chat's or a magentic manager's next
 * speaker). Decisions and ledgers are the steps named `decision:…` and `ledger:…`; waits are
 * `signal` steps; errors are failed steps; `options.resumedAt` adds a resume marker.
 *
 * @example
 * ```ts
 * const timeline = layoutTimeline(entries, run, Date.now());
 * timeline.rows[0].offset; // ms after the run started
 * ```
 */
export function layoutTimeline(
  entries: readonly TimelineEntry[],
  run: TimelineRun,
  now: number,
  options: LayoutOptions = {},
): Timeline {
  const only = options.scope;
  const sharedBefore = options.sharedBefore ?? 0;
  const inView = (entry: TimelineEntry): boolean => {
    if (only === undefined) return true;
    const scope = scopeOf(entry.key);
    return scope === only || scope.startsWith(`${only}/`);
  };
  let start = only === undefined ? run.createdAt : Number.POSITIVE_INFINITY;
  let end =
    only === undefined
      ? (run.endedAt ?? (run.status === 'running' || run.status === 'suspended' ? now : run.createdAt))
      : Number.NEGATIVE_INFINITY;
  for (let index = sharedBefore > 0 ? sharedBefore - 1 : 0; index < entries.length; index++) {
    const entry = entries[index] as TimelineEntry;
    if (!inView(entry)) continue;
    if (entry.startedAt < start) start = entry.startedAt;
    if (entry.endedAt > end) end = entry.endedAt;
  }
  if (!Number.isFinite(start)) start = run.createdAt;
  if (!Number.isFinite(end)) end = start;
  const resumes = new Map((options.resumedAt ?? []).map((gap) => [gap.after, gap]));
  const rows: TimelineRow[] = [];
  const markers: Marker[] = [];
  const lastAgent = new Map<string, string>();
  const lastModel = new Map<string, TimelineEntry>();
  entries.forEach((entry, index) => {
    const position = index + 1;
    if (!inView(entry)) return;
    const scope = scopeOf(entry.key);
    const shared = position < sharedBefore;
    const row: TimelineRow = {
      position,
      entry,
      depth: scope.match(scopeDepth)?.length ?? 0,
      offset: shared ? 0 : entry.startedAt - start,
      latency: Math.max(0, entry.endedAt - entry.startedAt),
      markers: [],
    };
    if (shared) row.shared = true;
    const mark = (kind: MarkerKind, label: string, at: number): void => {
      const marker = { kind, position, offset: shared ? 0 : at - start, label };
      row.markers.push(marker);
      markers.push(marker);
    };
    const gap = resumes.get(position);
    if (gap !== undefined) {
      row.resumedAfter = gap.resumedAt - gap.stoppedAt;
      mark('resume', `interrupted after step #${gap.before}, resumed here`, entry.startedAt);
    }
    if (entry.kind === 'model') {
      const agent = entry.meta?.agent;
      const before = lastAgent.get(scope);
      if (agent !== undefined) {
        if (before !== undefined && before !== agent) {
          if (asksTransfer(lastModel.get(scope)?.result))
            mark('handoff', `${before} → ${agent}`, entry.startedAt);
          else mark('speaker', `next speaker: ${agent}`, entry.startedAt);
        }
        lastAgent.set(scope, agent);
      }
      lastModel.set(scope, entry);
    }
    if (entry.name.startsWith('decision:')) {
      const decision = entry.meta?.decision;
      mark(
        'decision',
        `${entry.name.slice('decision:'.length)}: ${typeof decision === 'string' ? decision : 'decided'}`,
        entry.endedAt,
      );
    }
    if (entry.name.startsWith('ledger:')) {
      const round = entry.meta?.round;
      mark(
        'ledger',
        `${entry.name.slice('ledger:'.length)} ledger${typeof round === 'number' ? `, round ${round}` : ''}`,
        entry.endedAt,
      );
    }
    if (entry.kind === 'signal') mark('wait', `${entry.name} answered`, entry.endedAt);
    if (entry.status === 'failed') mark('error', `${entry.name} failed`, entry.endedAt);
    rows.push(row);
  });
  rows.sort((a, b) => a.offset - b.offset || a.position - b.position);
  return { start, span: Math.max(1, end - start), rows, markers };
}

/**
 * The input of a step, where the journal has it: a model step's prompt (`meta.prompt`, when the
 * runtime journals prompts) or, for a tool step, the arguments of its call in the model step that
 * asked for it (the nearest earlier model step in its scope or an enclosing one; a tool run in a
 * parallel branch `…/<n>.<b>` is the model's call number `b`). `undefined` when the journal does
 * not say.
 *
 * @example
 * ```ts
 * stepInput(entries, 3); // { orderId: 'A-1', amount: 40 }
 * ```
 */
export function stepInput(entries: readonly TimelineEntry[], position: number): unknown {
  const entry = entries[position - 1];
  if (entry === undefined) return undefined;
  if (entry.kind === 'model') return entry.meta?.prompt;
  if (entry.kind !== 'tool') return undefined;
  const tool = entry.name.startsWith('tool:') ? entry.name.slice('tool:'.length) : entry.name;
  const scope = scopeOf(entry.key);
  for (let index = position - 2; index >= 0; index--) {
    const before = entries[index] as TimelineEntry;
    if (before.kind !== 'model') continue;
    const modelScope = scopeOf(before.key);
    if (modelScope !== scope && !scope.startsWith(`${modelScope}/`)) continue;
    const calls = toolCallList(before.result);
    const branch = /^\/\d+\.(\d+)/.exec(scope.slice(modelScope.length))?.[1];
    let call = branch === undefined ? undefined : calls[Number(branch)];
    if (call?.toolName !== tool) call = calls.find((candidate) => candidate.toolName === tool);
    if (call === undefined) return undefined;
    if (typeof call.input !== 'string') return call.input;
    try {
      return JSON.parse(call.input) as unknown;
    } catch {
      return call.input;
    }
  }
  return undefined;
}

function scopeOf(key: string): string {
  return key.split('#')[0] ?? '';
}

/** Whether a model step's answer asked for a handoff tool (`transfer_to_…`). */
function asksTransfer(result: unknown): boolean {
  return toolCallList(result).some((call) => call.toolName.startsWith('transfer_to_'));
}

function toolCallList(result: unknown): { toolName: string; input: unknown }[] {
  if (typeof result !== 'object' || result === null) return [];
  const calls = (result as { toolCalls?: unknown }).toolCalls;
  return Array.isArray(calls) ? (calls as { toolName: string; input: unknown }[]) : [];
}
