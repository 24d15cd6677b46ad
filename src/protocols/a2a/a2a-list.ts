/** ListTasks: the runs of the endpoint's targets that the caller's key reaches, newest first, as tasks, with a (createdAt, id) page token. */

import { type ListTasksRequest, type ListTasksResponse, type Task, TaskState } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { RunRecord } from '../../index.js';
import { decodeMessage, isVisible, type Served } from './a2a-access.js';
import { stateOf } from './a2a-task.js';
import { readView, shownTask } from './a2a-watch.js';

const storePage = 100;

/**
 * A page of tasks: `contextId` filters on the run's thread, `status` on the task state; at most
 * `pageSize` (1 to 100, default 50). `totalSize` counts the tasks of this page only.
 */
export async function listTaskPage(
  served: Served,
  params: ListTasksRequest,
  context: ServerCallContext,
): Promise<ListTasksResponse> {
  const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
  const [beforeText, afterId] = params.pageToken === '' ? [] : params.pageToken.split(':');
  const before = beforeText === undefined ? undefined : Number(beforeText);
  if (before !== undefined && !Number.isFinite(before)) throw new RequestMalformedError('Invalid pageToken.');
  const store = served.runtime.store;
  const tasks: Task[] = [];
  const runsOfTasks: RunRecord[] = [];
  let cursor = before === undefined ? undefined : before + 1;
  for (;;) {
    const page = await store.listRuns({
      ...(params.contextId === '' ? {} : { threadId: params.contextId }),
      ...(cursor === undefined ? {} : { createdBefore: cursor }),
      limit: storePage,
    });
    for (const run of page) {
      if (tasks.length === pageSize) break;
      // Runs created in the page token's millisecond come in id order: skip those already listed.
      if (before !== undefined && run.createdAt === before && afterId !== undefined && run.id >= afterId)
        continue;
      if (!isVisible(served, run, context)) continue;
      const view = await readView(store, run.id, decodeMessage);
      if (view === undefined) continue;
      if (params.status !== TaskState.TASK_STATE_UNSPECIFIED && stateOf(view) !== params.status) continue;
      const task = await shownTask(store, view, params.historyLength);
      if (params.includeArtifacts !== true) task.artifacts = [];
      tasks.push(task);
      runsOfTasks.push(run);
    }
    if (tasks.length === pageSize || page.length < storePage) break;
    // Strictly older runs next (a store page that ends inside a millisecond may skip the rest of it).
    cursor = (page.at(-1) as RunRecord).createdAt;
  }
  const last = tasks.length === pageSize ? runsOfTasks.at(-1) : undefined;
  return {
    tasks,
    nextPageToken: last === undefined ? '' : `${last.createdAt}:${last.id}`,
    pageSize,
    totalSize: tasks.length,
  };
}
