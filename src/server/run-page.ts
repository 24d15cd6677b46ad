/** Cursor paging over the store's runs, newest first: the cursor is the last run's (createdAt, id). */

import type { RunFilter, RunRecord, Store } from '../index.js';
import { HttpError } from './http-error.js';

/** Where a page starts: after the run with this creation time and id, in newest-first order. */
interface Cursor {
  createdAt: number;
  id: string;
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
): Promise<{ runs: RunRecord[]; nextCursor: string | null }> {
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  let fetch = limit + 1;
  for (;;) {
    const query: RunFilter = { ...filter, limit: fetch };
    if (cursor !== undefined) query.createdBefore = cursor.createdAt + 1;
    const fetched = await store.listRuns(query);
    const after = cursor === undefined ? fetched : fetched.filter((run) => isAfter(run, cursor));
    // Enough for a page and a next one, or the store has no more.
    if (after.length > limit || fetched.length < fetch) {
      const runs = after.slice(0, limit);
      const last = runs.at(-1);
      return {
        runs,
        nextCursor: after.length > limit && last !== undefined ? encodeCursor(last) : null,
      };
    }
    fetch *= 2;
  }
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
