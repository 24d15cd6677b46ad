/** Push notifications: each task's webhook configs as a record stream in the store, and a watcher per task that POSTs its state changes to them. */

import { randomUUID } from 'node:crypto';
import { type Message, StreamResponse, TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { Store } from '../../index.js';
import { contextOf, outputArtifacts, statusOf, type TaskView } from './a2a-task.js';
import { watchTask } from './a2a-watch.js';

/** The record stream of a task's push configs (`set` and `delete` records, folded when read). */
export function pushStream(taskId: string): string {
  return `a2a:push:${taskId}`;
}

/** Every live push config of a task, oldest first. */
export async function readPushConfigs(store: Store, taskId: string): Promise<TaskPushNotificationConfig[]> {
  const configs = new Map<string, TaskPushNotificationConfig>();
  for (const { data } of await store.readRecords(pushStream(taskId))) {
    const record = data as { type?: unknown; id?: unknown; config?: unknown } | null;
    if (record?.type === 'set' && record.config !== undefined) {
      const config = TaskPushNotificationConfig.fromJSON(record.config);
      configs.delete(config.id);
      configs.set(config.id, config);
    } else if (record?.type === 'delete' && typeof record.id === 'string') configs.delete(record.id);
  }
  return [...configs.values()];
}

/** Stores a config for `taskId` (a new id when it has none; the same id replaces it), after checking its URL. */
export async function savePushConfig(
  store: Store,
  taskId: string,
  config: TaskPushNotificationConfig,
  allow: ((url: URL) => boolean) | undefined,
): Promise<TaskPushNotificationConfig> {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new RequestMalformedError(`The push notification URL "${config.url}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RequestMalformedError(`The push notification URL must be http or https, got ${url.protocol}`);
  if (allow !== undefined && !allow(url))
    throw new RequestMalformedError(`This server does not send push notifications to ${url.origin}.`);
  const saved: TaskPushNotificationConfig = {
    ...config,
    taskId,
    id: config.id === '' ? randomUUID() : config.id,
  };
  await store.appendRecord(pushStream(taskId), {
    type: 'set',
    config: TaskPushNotificationConfig.toJSON(saved),
  });
  return saved;
}

/** Deletes a task's config by id (nothing when there is none). */
export async function deletePushConfig(store: Store, taskId: string, id: string): Promise<void> {
  await store.appendRecord(pushStream(taskId), { type: 'delete', id });
}

/** Options of {@link PushNotifier}. */
export interface PushNotifierOptions {
  store: Store;
  pollMs: number;
  /** Per POST; default 5000. */
  timeoutMs: number;
  /** Stops every watcher (server shutdown). */
  signal: AbortSignal | undefined;
  decode: (json: unknown) => Message;
}

const retryDelaysMs = [250, 1000];

/**
 * Watches the tasks that have push configs and POSTs each change of state (a `statusUpdate`
 * `StreamResponse`, `application/a2a+json`; a completed task's `artifactUpdate` first) to every
 * config, with `Authorization: <scheme> <credentials>` when the config has `authentication` and the
 * token as `X-A2A-Notification-Token` and `A2A-Notification-Token`. A failed POST is tried three
 * times in all. One watcher per task in this process; it ends with the task.
 */
export class PushNotifier {
  readonly #watching = new Map<string, AbortController>();
  constructor(private readonly options: PushNotifierOptions) {
    // One listener for every watcher: a server that watches a thousand tasks adds one, not a thousand.
    options.signal?.addEventListener(
      'abort',
      () => {
        for (const watcher of this.#watching.values()) watcher.abort();
      },
      { once: true },
    );
  }

  /** Starts watching `taskId` unless this process already does; `announce` sends its current state too. */
  ensure(taskId: string, announce: boolean): void {
    if (this.#watching.has(taskId) || this.options.signal?.aborted === true) return;
    const controller = new AbortController();
    this.#watching.set(taskId, controller);
    void this.#watch(taskId, announce, controller.signal)
      .catch((error: unknown) => {
        process.stderr.write(`baton a2a: push notifications of task ${taskId} stopped: ${String(error)}\n`);
      })
      .finally(() => {
        this.#watching.delete(taskId);
      });
  }

  async #watch(taskId: string, announce: boolean, signal: AbortSignal): Promise<void> {
    // No watcher for a task without configs (a GetTask of any task asks for one).
    if ((await readPushConfigs(this.options.store, taskId)).length === 0) return;
    let first = true;
    for await (const view of watchTask({ ...this.options, runId: taskId, signal })) {
      if (first && !announce) {
        first = false;
        continue;
      }
      first = false;
      const configs = await readPushConfigs(this.options.store, taskId);
      if (configs.length === 0) return;
      for (const event of eventsOf(view)) {
        await Promise.all(configs.map((config) => this.#deliver(config, event, signal)));
      }
    }
  }

  async #deliver(
    config: TaskPushNotificationConfig,
    event: StreamResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/a2a+json' };
    if (config.authentication?.scheme && config.authentication.credentials)
      headers.authorization = `${config.authentication.scheme} ${config.authentication.credentials}`;
    if (config.token !== '') {
      headers['x-a2a-notification-token'] = config.token;
      headers['a2a-notification-token'] = config.token;
    }
    const body = JSON.stringify(StreamResponse.toJSON(event));
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(config.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
        });
        await response.body?.cancel();
        if (response.ok) return;
        throw new Error(`HTTP ${response.status}`);
      } catch (error) {
        const delay = retryDelaysMs[attempt];
        if (delay === undefined || signal.aborted) {
          process.stderr.write(
            `baton a2a: push notification to ${new URL(config.url).origin} failed: ${String(error)}\n`,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** What a change of a task sends: its status, after its output artifact when it completed. */
export function eventsOf(view: TaskView): StreamResponse[] {
  const taskId = view.run.id;
  const contextId = contextOf(view.run);
  const status = statusOf({ ...view, messages: [] });
  const events: StreamResponse[] = [];
  if (view.run.status === 'completed' || view.run.status === 'budget-exceeded') {
    for (const artifact of outputArtifacts(view.run)) {
      events.push({
        payload: {
          $case: 'artifactUpdate',
          value: { taskId, contextId, artifact, append: false, lastChunk: true, metadata: undefined },
        },
      });
    }
  }
  events.push({
    payload: { $case: 'statusUpdate', value: { taskId, contextId, status, metadata: undefined } },
  });
  return events;
}
