/** A run's journal as the API shows it: content as the agents' guardrails left it, and of a running run only the entries no guardrail decision can still rewrite. */

import { terminalStatuses } from '../core/store.js';
import { guardedJournal, type JournalEntry, type RunRecord, type Store, settledLength } from '../index.js';

/** What {@link readShownJournal} read. */
export interface ShownJournal {
  /** The run as read before its journal. */
  record: RunRecord;
  /** The settled entries, guarded (redacted content shows redacted). */
  entries: JournalEntry[];
  /** Entries recorded but held back until a guardrail's decision on them can no longer follow. */
  held: number;
  /** The whole journal as stored (for what else the caller derives from it). */
  stored: JournalEntry[];
}

/**
 * Reads a run and its journal and returns the entries the API may show: guarded
 * (`guardedJournal`), and cut at `settledLength` while the run may still append (a suspended run
 * is read twice around its journal, so a wake in between counts as running). `undefined` when
 * the run does not exist.
 *
 * @example
 * ```ts
 * const shown = await readShownJournal(store, runId);
 * return c.json({ entries: shown?.entries ?? [] });
 * ```
 */
export async function readShownJournal(store: Store, runId: string): Promise<ShownJournal | undefined> {
  const record = await store.getRun(runId);
  if (record === undefined) return undefined;
  const stored = await store.loadJournal(runId);
  let status = record.status;
  if (status === 'suspended') {
    const again = await store.getRun(runId);
    if (again === undefined || again.status !== status || again.updatedAt !== record.updatedAt)
      status = 'running';
  } else if (!terminalStatuses.has(status)) status = 'running';
  const settled = settledLength(stored, status);
  return { record, entries: guardedJournal(stored).slice(0, settled), held: stored.length - settled, stored };
}
