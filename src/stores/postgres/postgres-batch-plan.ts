/** How the Postgres write queue turns one batch of writes into few statements without changing what any write sees. */

import type { PostgresWriteGroup } from './postgres-write-groups.js';

/** What the plan needs of a write. */
export interface PlannedWrite {
  /** Writes of one group may share a multi-row statement. */
  readonly group?: PostgresWriteGroup<unknown> | undefined;
  /**
   * What the write reads and changes (`run:<id>`, `stream:<name>`); undefined for a write that
   * may touch any run (it is written alone, after everything queued before it).
   */
  readonly key?: string | undefined;
}

/** One statement of a batch: a group's multi-row statement over `members`, or one write's own statement. */
export interface BatchStep {
  readonly group: PostgresWriteGroup<unknown> | undefined;
  /** Indexes into the batch, in queue order. */
  readonly members: number[];
}

/**
 * Splits a batch (in queue order) into steps, to be run in order in one transaction. Each write
 * gets a level: the level of the last earlier write on its key when both are of one group that
 * keeps order (`sameKey`), else one more (a write of no group is a group of its own); a write
 * without a key is a level of its own, after every earlier write and before every later one.
 * Within a level the writes of one group become one step. So writes on one key run in queue
 * order, and writes on different keys, which do not depend on each other, may run in another
 * order: every write has the outcome it would have had with the batch written one by one.
 *
 * @example
 * ```ts
 * planBatch([journal('run:a'), update('run:a'), journal('run:b'), update('run:b')]);
 * // [{ group: journal, members: [0, 2] }, { group: update, members: [1, 3] }]
 * ```
 */
export function planBatch(writes: readonly PlannedWrite[]): BatchStep[] {
  /** Each level's steps by group id (`#index` for a write of no group). */
  const levels: Map<string, BatchStep>[] = [];
  /** The last write on each key: its level and step id. */
  const last = new Map<string, { level: number; stepId: string }>();
  /** The lowest level a write may take (after the last write without a key). */
  let floor = 0;
  for (let index = 0; index < writes.length; index++) {
    const { group, key } = writes[index]!;
    if (key === undefined) {
      const level = levels.length;
      levels.push(new Map([[`#${index}`, { group: undefined, members: [index] }]]));
      floor = level + 1;
      continue;
    }
    const stepId = group?.id ?? `#${index}`;
    const before = last.get(key);
    let level = floor;
    if (before !== undefined && before.level >= floor)
      level = before.stepId === stepId && group?.sameKey === true ? before.level : before.level + 1;
    last.set(key, { level, stepId });
    while (levels.length <= level) levels.push(new Map());
    const steps = levels[level]!;
    const step = steps.get(stepId);
    if (step === undefined) steps.set(stepId, { group, members: [index] });
    else step.members.push(index);
  }
  return levels.flatMap((steps) => [...steps.values()]);
}
