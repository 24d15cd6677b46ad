/** Cursor paging over the store's runs, newest first: the cursor is the last run's (createdAt, id); time bounds, a per-run check and a search across id, target and thread. */

import type { RunFilter, RunRecord, Store } from '../index.js';
import { HttpError } from './http-error.js';

/** Where a page starts: after the run with this creation time and id, in newest-first order. */
interface Cursor {
  createdAt: number;
  id: string;
}

/** What narrows a page beyond the store's own filter. */
export interface RunPageBounds {
  /** Only runs created at or after this time (ms): the newest-first read stops at the first older run. */
  after?: number;
  /** Only runs created strictly before this time (ms): passed to the store with the cursor's bound. */
  before?: number;
  /**
   * Only runs this check accepts (the has-waits filter). The read goes on through the store,
   * page after page, until a page is full or the store (or `after`) is exhausted, so paging
   * stays exact; each run is checked once per call.
   */
  keep?: (run: RunRecord) => Promise<boolean>;
}

/** A page of runs and the cursor of the next one (null on the last page). */
export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

/**
 * One page of runs matching `filter`, newest first (`createdAt` descending, then `id`
 * descending, as `Store.listRuns` orders them), after `cursor`; `nextCursor` is null on the
 * last page. The store pages on `createdBefore`, which is strict, so runs created in the same
 * millisecond as the cursor's are read again and skipped here.
 *
 * @example
 * ```ts
 * const first = await listRunPage(store, { target: 'support' }, 20, undefined);
 * const second = await listRunPage(store, { target: 'support' }, 20, first.nextCursor ?? undefined);
 * ```
 */
export async function listRunPage(
  store: Store,
  filter: Omit<RunFilter, 'createdBefore' | 'limit'>,
  limit: number,
  cursorText: string | undefined,
  bounds: RunPageBounds = {},
): Promise<RunPage> {
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  const checked = new Map<string, boolean>();
  const accept = async (run: RunRecord): Promise<boolean> => {
    if (bounds.keep === undefined) return true;
    let verdict = checked.get(run.id);
    if (verdict === undefined) {
      verdict = await bounds.keep(run);
      checked.set(run.id, verdict);
    }
    return verdict;
  };
  let fetch = limit + 1;
  for (;;) {
    const query: RunFilter = { ...filter, limit: fetch };
    const before = Math.min(
      cursor === undefined ? Number.POSITIVE_INFINITY : cursor.createdAt + 1,
      bounds.before ?? Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(before)) query.createdBefore = before;
    const fetched = await store.listRuns(query);
    // Newest first: every run at or after `after` comes before the first older one.
    const older =
      bounds.after === undefined ? -1 : fetched.findIndex((run) => run.createdAt < (bounds.after as number));
    const inRange = older === -1 ? fetched : fetched.slice(0, older);
    const accepted: RunRecord[] = [];
    for (const run of inRange) {
      if (cursor !== undefined && !isAfter(run, cursor)) continue;
      if (await accept(run)) accepted.push(run);
      if (accepted.length > limit) break;
    }
    // Enough for a page and a next one, or the store (or the time range) has no more.
    if (accepted.length > limit || fetched.length < fetch || older !== -1) {
      const runs = accepted.slice(0, limit);
      const last = runs.at(-1);
      return {
        runs,
        nextCursor: accepted.length > limit && last !== undefined ? encodeCursor(last) : null,
      };
    }
    fetch *= 2;
  }
}

/**
 * One page of the union of several queries (a search: the run with that id, the runs of a
 * target, the runs of a thread), newest first, without duplicates. Each query reads one page
 * after the same cursor; the union's first `limit` runs after the cursor are among them, so the
 * merged page and its cursor are exact.
 *
 * @example
 * ```ts
 * const page = await unionRunPage([{ filter: { target: 'a' } }, { filter: { threadId: 'a' } }], store, 20, undefined);
 * ```
 */
export async function unionRunPage(
  store: Store,
  sources: ReadonlyArray<{ filter: Omit<RunFilter, 'createdBefore' | 'limit'> } | { run: RunRecord }>,
  limit: number,
  cursorText: string | undefined,
  bounds: RunPageBounds = {},
): Promise<RunPage> {
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  const byId = new Map<string, RunRecord>();
  let more = false;
  for (const source of sources) {
    if ('run' in source) {
      const { run } = source;
      const inRange =
        (cursor === undefined || isAfter(run, cursor)) &&
        (bounds.after === undefined || run.createdAt >= bounds.after) &&
        (bounds.before === undefined || run.createdAt < bounds.before);
      if (inRange && (bounds.keep === undefined || (await bounds.keep(run)))) byId.set(run.id, run);
      continue;
    }
    const page = await listRunPage(store, source.filter, limit, cursorText, bounds);
    for (const run of page.runs) byId.set(run.id, run);
    if (page.nextCursor !== null) more = true;
  }
  const merged = [...byId.values()].sort(
    (left, right) =>
      right.createdAt - left.createdAt || (left.id < right.id ? 1 : left.id > right.id ? -1 : 0),
  );
  const runs = merged.slice(0, limit);
  const last = runs.at(-1);
  return {
    runs,
    nextCursor: (merged.length > limit || more) && last !== undefined ? encodeCursor(last) : null,
  };
}

function isAfter(run: RunRecord, cursor: Cursor): boolean {
  return run.createdAt < cursor.createdAt || (run.createdAt === cursor.createdAt && run.id < cursor.id);
}

function encodeCursor(run: RunRecord): string {
  return Buffer.from(JSON.stringify([run.createdAt, run.id])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new HttpError(400, 'INVALID_CURSOR', 'cursor is not a nextCursor this API returned.', [
    { path: ['cursor'], message: 'Invalid cursor' },
  ]);
}
