/** buildStepTree(): a run's journal as a tree by scope (child runs under their `run:` step, branches under their parallel), with pattern ledgers and decisions spelled out. */

import type { JournalEntry, JournalEntryKind, SerializedError, StepMeta, Usage } from '../index.js';
import { decisionDetails, ledgerDetails } from './ledger-text.js';

/** One node of the step tree: a journal entry, or a grouping the journal implies (a parallel, a branch, an unfinished child run). */
export interface StepNode {
  /** The journal key, or for a grouping the position it stands for (`r#2`, `r#2.0`). */
  key: string;
  name: string;
  kind: JournalEntryKind | 'branch';
  /** `pending` for a child run or branch that has not finished (the run is suspended or running). */
  status: 'completed' | 'failed' | 'pending';
  startedAt: number | undefined;
  endedAt: number | undefined;
  durationMs: number | undefined;
  meta: StepMeta | undefined;
  error: SerializedError | undefined;
  /** Tokens of this step and everything under it. */
  usage: Usage;
  /** Cost in USD of this step and everything under it. */
  costUsd: number;
  /** True for groupings that have no journal entry of their own. */
  synthetic: boolean;
  /**
   * What the step recorded, as lines for people, for steps worth reading in full: a pattern's
   * ledger (`meta.ledger`) and a pattern's decision (`meta.decision`). Undefined for the rest.
   */
  details: string[] | undefined;
  children: StepNode[];
}

interface Placed {
  node: StepNode;
  order: number[];
  children: Placed[];
}

const keyPattern = /^(r(?:\/\d+(?:\.\d+)?)*)#(\d+)(~.*)?$/;
const scopePattern = /^(.*)\/(\d+)(?:\.(\d+))?$/;

/**
 * Arranges journal entries into a tree. Keys are `scope#sequence` (scope `r`, `r/1` for the
 * child run at `r#1`, `r/3.0` for branch 0 of the parallel at `r#3`); sub-keys such as
 * `r#4~timer` nest under `r#4`. Children are ordered by sequence number, not by the order
 * they were written (a child run's `run:` entry is written after its own steps).
 *
 * @example
 * ```ts
 * const tree = buildStepTree(await runtime.journal(runId));
 * for (const node of tree) console.log(node.name, node.children.length);
 * ```
 */
export function buildStepTree(entries: readonly JournalEntry[]): StepNode[] {
  const positions = new Map<string, Placed>();
  const scopes = new Map<string, Placed[]>();
  const roots: Placed[] = [];
  const strays: Placed[] = [];
  const subEntries: Array<{ position: string; entry: JournalEntry }> = [];
  const place = (node: StepNode, order: number[]): Placed => ({ node, order, children: [] });

  for (const entry of entries) {
    const match = keyPattern.exec(entry.key);
    if (match === null) {
      strays.push(place(fromEntry(entry), [strays.length]));
      continue;
    }
    const [, scope, sequence, suffix] = match as unknown as [string, string, string, string | undefined];
    const position = `${scope}#${sequence}`;
    if (suffix !== undefined) subEntries.push({ position, entry });
    else positions.set(position, place(fromEntry(entry), [Number(sequence)]));
  }
  for (const [index, { position, entry }] of subEntries.entries()) {
    const owner = positions.get(position);
    if (owner === undefined)
      positions.set(position, place(fromEntry(entry), [Number(position.split('#')[1])]));
    else owner.children.push(place(fromEntry(entry), [-1, index]));
  }

  /** The list that holds the steps of `scope`, creating the groupings the scope implies. */
  const containerOf = (scope: string): Placed[] => {
    if (scope === 'r') return roots;
    const known = scopes.get(scope);
    if (known !== undefined) return known;
    const match = scopePattern.exec(scope);
    if (match === null) return strays;
    const [, parentScope, sequence, branch] = match as unknown as [
      string,
      string,
      string,
      string | undefined,
    ];
    const position = `${parentScope}#${sequence}`;
    let owner = positions.get(position);
    if (owner === undefined) {
      owner = place(
        branch === undefined
          ? synthetic(position, '(child run, not finished)', 'child', 'pending')
          : synthetic(position, 'parallel', 'parallel', 'completed'),
        [Number(sequence)],
      );
      positions.set(position, owner);
      containerOf(parentScope).push(owner);
    }
    let list = owner.children;
    if (branch !== undefined) {
      const branchPlaced = place(
        synthetic(`${position}.${branch}`, `branch ${branch}`, 'branch', 'completed'),
        [Number(branch)],
      );
      owner.children.push(branchPlaced);
      list = branchPlaced.children;
    }
    scopes.set(scope, list);
    return list;
  };

  for (const [position, placed] of [...positions.entries()]) {
    if (placed.node.synthetic) continue;
    containerOf(position.slice(0, position.lastIndexOf('#'))).push(placed);
  }

  const result = [...toNodes(roots), ...toNodes(strays)];
  for (const node of result) finish(node);
  return result;
}

function toNodes(list: Placed[]): StepNode[] {
  return [...list]
    .sort((a, b) => compareOrder(a.order, b.order))
    .map((placed) => {
      placed.node.children = toNodes(placed.children);
      return placed.node;
    });
}

function compareOrder(a: number[], b: number[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (a[index] ?? -1) - (b[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

function fromEntry(entry: JournalEntry): StepNode {
  return {
    key: entry.key,
    name: entry.name,
    kind: entry.kind,
    status: entry.status,
    startedAt: entry.startedAt,
    endedAt: entry.endedAt,
    durationMs: entry.endedAt - entry.startedAt,
    meta: entry.meta,
    error: entry.error,
    usage: { ...(entry.meta?.usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0 }) },
    costUsd: entry.meta?.costUsd ?? 0,
    synthetic: false,
    details: detailsOf(entry),
    children: [],
  };
}

/**
 * The lines `baton show` prints under a ledger step (`ledger:<name>`, meta `{ ledger, pattern,
 * round }`, result the ledger's data) or a decision step (`decision:<pattern>`, meta
 * `{ decision, pattern }`, result `{ decision, reasons, data? }`).
 */
function detailsOf(entry: JournalEntry): string[] | undefined {
  if (entry.status !== 'completed' || entry.meta === undefined) return undefined;
  if (entry.meta.ledger !== undefined) return ledgerDetails(entry.result);
  if (entry.meta.decision !== undefined)
    return decisionDetails(
      entry.result,
      typeof entry.meta.decision === 'string' ? entry.meta.decision : undefined,
    );
  return undefined;
}

function synthetic(key: string, name: string, kind: StepNode['kind'], status: StepNode['status']): StepNode {
  return {
    key,
    name,
    kind,
    status,
    startedAt: undefined,
    endedAt: undefined,
    durationMs: undefined,
    meta: undefined,
    error: undefined,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    synthetic: true,
    details: undefined,
    children: [],
  };
}

/** Adds up usage and cost of descendants, and gives groupings their time span and status. */
function finish(node: StepNode): void {
  for (const child of node.children) {
    finish(child);
    node.usage.inputTokens += child.usage.inputTokens;
    node.usage.outputTokens += child.usage.outputTokens;
    node.usage.totalTokens += child.usage.totalTokens;
    node.costUsd += child.costUsd;
  }
  if (!node.synthetic) return;
  const starts = node.children.flatMap((child) => (child.startedAt === undefined ? [] : [child.startedAt]));
  const ends = node.children.flatMap((child) => (child.endedAt === undefined ? [] : [child.endedAt]));
  if (starts.length > 0 && ends.length > 0) {
    node.startedAt = Math.min(...starts);
    node.endedAt = Math.max(...ends);
    node.durationMs = node.endedAt - node.startedAt;
  }
  if (node.status !== 'pending') {
    if (node.children.some((child) => child.status === 'failed')) node.status = 'failed';
    else if (node.children.some((child) => child.status === 'pending')) node.status = 'pending';
  }
}
