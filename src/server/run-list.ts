/** What `GET /v1/runs` answers: the store's filters, time bounds, the has-waits check and the search, over exact cursor paging. */

import { listPending, type RunFilter, type RunRecord } from '../index.js';
import type { Tenant } from './route.js';
import { listRunPage, type RunPage, type RunPageBounds, unionRunPage } from './run-page.js';

/** The validated query of `GET /v1/runs`, with the target the key is held to. */
export interface RunListRequest {
  status?: RunRecord['status'] | undefined;
  target?: string | undefined;
  thread?: string | undefined;
  after?: number | undefined;
  before?: number | undefined;
  waiting?: '1' | undefined;
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** How many served targets a search reads at most (each one a store query). */
const searchTargets = 20;

/**
 * A page of the tenant's runs for `request`. `waiting` narrows to suspended runs (in the store)
 * with an unanswered inbox request (checked run by run); `q` is the union of the run with that
 * id, the runs of that thread and the runs of every served target whose name contains it, each
 * under the other filters.
 *
 * @example
 * ```ts
 * const page = await runListPage(tenant, { waiting: '1', limit: 20 });
 * ```
 */
export async function runListPage(tenant: Tenant, request: RunListRequest): Promise<RunPage> {
  if (request.waiting !== undefined && request.status !== undefined && request.status !== 'suspended')
    return { runs: [], nextCursor: null };
  const status = request.waiting === undefined ? request.status : 'suspended';
  const filter: Omit<RunFilter, 'createdBefore' | 'limit'> = {
    ...(status === undefined ? {} : { status }),
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.thread === undefined ? {} : { threadId: request.thread }),
  };
  const bounds: RunPageBounds = {
    ...(request.after === undefined ? {} : { after: request.after }),
    ...(request.before === undefined ? {} : { before: request.before }),
    ...(request.waiting === undefined ? {} : { keep: (run) => waitsForPerson(tenant, run) }),
  };
  if (request.q === undefined)
    return listRunPage(tenant.store, filter, request.limit, request.cursor, bounds);

  const q = request.q;
  const sources: Array<{ filter: typeof filter } | { run: RunRecord }> = [];
  const byId = await tenant.store.getRun(q);
  if (
    byId !== undefined &&
    (filter.status === undefined || byId.status === filter.status) &&
    (filter.target === undefined || byId.target === filter.target) &&
    (filter.threadId === undefined || byId.threadId === filter.threadId)
  )
    sources.push({ run: byId });
  if (filter.threadId === undefined || filter.threadId === q)
    sources.push({ filter: { ...filter, threadId: q } });
  const needle = q.toLowerCase();
  const targets = [...tenant.served.keys()]
    .filter((name) => name.toLowerCase().includes(needle))
    .filter((name) => filter.target === undefined || filter.target === name)
    .slice(0, searchTargets);
  // A target no longer served keeps its runs: its exact name finds them too.
  if (!targets.includes(q) && (filter.target === undefined || filter.target === q)) targets.push(q);
  for (const target of targets) sources.push({ filter: { ...filter, target } });
  return unionRunPage(tenant.store, sources, request.limit, request.cursor, bounds);
}

/** A suspended run with a request in the inbox that no one has answered yet. */
async function waitsForPerson(tenant: Tenant, run: RunRecord): Promise<boolean> {
  if (run.status !== 'suspended') return false;
  const requests = await listPending(tenant.store, { runId: run.id });
  return requests.some((request) => !request.answered);
}
