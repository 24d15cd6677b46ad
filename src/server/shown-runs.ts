/** Runs as the API shows them: each one's input as its guardrails left it, remembered for runs that have ended so a list page does not read their journals again. */

import { terminalStatuses } from '../core/store.js';
import { type RunRecord, type Store, withGuardedInput } from '../index.js';

/** Shows runs with their input as the guardrails left it; one per server tenant. */
export interface ShownRuns {
  /** The run as every answer of the API carries it: its input as the top agent's input guardrails left it. */
  one(record: RunRecord): Promise<RunRecord>;
  /** Runs as a page of them is shown (the run list, a thread's runs): each one as `one` shows it. */
  many(records: readonly RunRecord[]): Promise<RunRecord[]>;
}

/** Options of {@link createShownRuns}. */
export interface ShownRunsOptions {
  /** How many ended runs' inputs are remembered (the oldest remembered is forgotten first). Default 2000. */
  capacity?: number;
  /** A rewritten input longer than this (in JSON characters) is not remembered, but read again. Default 16384. */
  largestInput?: number;
}

const defaults = { capacity: 2000, largestInput: 16_384 } satisfies ShownRunsOptions;

/** What is remembered of an ended run: its input as shown, or `stored` when the guardrails left it as stored. */
type Remembered = { input: unknown } | 'stored';

/**
 * Shows runs of `store` with their input as the top agent's input guardrails left it
 * (`withGuardedInput`: a redacted email shows redacted). Those decisions are journaled, so a
 * run's journal is read; once a run has ended its journal no longer changes, so what it showed
 * is remembered (bounded by `capacity`) and the next page that lists the run reads nothing more
 * than the run itself. The records given are not changed.
 *
 * @example
 * ```ts
 * const shown = createShownRuns(store);
 * return c.json({ runs: (await shown.many(page.runs)).map(runView) });
 * ```
 */
export function createShownRuns(store: Store, options: ShownRunsOptions = {}): ShownRuns {
  const settings = { ...defaults, ...options };
  const ended = new Map<string, Remembered>();
  const remember = (record: RunRecord, shown: RunRecord): void => {
    if (!terminalStatuses.has(record.status)) return;
    if (shown === record) ended.set(record.id, 'stored');
    else if ((JSON.stringify(shown.input)?.length ?? 0) <= settings.largestInput)
      ended.set(record.id, { input: shown.input });
    else return;
    // A Map keeps insertion order: the first key is the one remembered longest ago.
    if (ended.size > settings.capacity) ended.delete(ended.keys().next().value as string);
  };
  const one = async (record: RunRecord): Promise<RunRecord> => {
    const known = ended.get(record.id);
    if (known !== undefined && terminalStatuses.has(record.status))
      return known === 'stored' ? record : { ...record, input: known.input };
    const shown = withGuardedInput(record, await store.loadJournal(record.id));
    remember(record, shown);
    return shown;
  };
  return { one, many: (records) => Promise.all(records.map(one)) };
}
