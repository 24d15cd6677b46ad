/** The A2A methods over a Baton runtime: a task is a run (same id), a message starts a run or answers its wait, streams and pushes follow the run in the store. */

import { createHash, randomUUID } from 'node:crypto';
import type {
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  ListTasksRequest,
  ListTasksResponse,
  SendMessageRequest,
  SubscribeToTaskRequest,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import { type AgentCard, Message, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import {
  ExtendedAgentCardNotConfiguredError,
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { BatonError, type Runnable, type RunRecord, type Runtime } from '../../index.js';
import {
  deletePushConfig,
  eventsOf,
  type PushNotifier,
  readPushConfigs,
  savePushConfig,
} from './a2a-push.js';
import { replyOf } from './a2a-reply.js';
import {
  finalStates,
  inputOf,
  openRequests,
  signatureOf,
  stateOf,
  type TaskView,
  taskOf,
} from './a2a-task.js';
import { isEnded, readView, taskStream, watchTask } from './a2a-watch.js';

/** The caller's API key as the handler needs it (structurally the server's `ApiKeyInfo`). */
export interface A2aKey {
  id: string;
  name?: string;
  scopes: readonly string[];
  targets?: readonly string[];
}

/** Where the HTTP layer puts what a call needs in `ServerCallContext.state`. */
export const stateKeys = {
  key: 'baton:key',
  target: 'baton:target',
  signal: 'baton:signal',
  forbidden: 'baton:forbidden',
} as const;

/** Thrown when the caller's key does not reach a task's target; the HTTP layer answers 403. */
export class ForbiddenTargetError extends Error {}

/** What the handler serves. */
export interface BatonRequestHandlerOptions {
  runtime: Runtime;
  targets: ReadonlyMap<string, { runnable: Runnable; source?: string }>;
  pollMs: number;
  push: PushNotifier | undefined;
  allowPushUrl: ((url: URL) => boolean) | undefined;
  card: () => AgentCard;
}

const contextPattern = /^[A-Za-z0-9][\w.:@-]{0,150}$/;
const decode = (json: unknown): Message => Message.fromJSON(json);

/** Baton's `A2ARequestHandler`: what the SDK's JSON-RPC transport handlers dispatch to. */
export class BatonRequestHandler implements A2ARequestHandler {
  constructor(private readonly options: BatonRequestHandlerOptions) {}

  async getAgentCard(): Promise<AgentCard> {
    return this.options.card();
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError('This agent has no extended card.');
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    const { view, after } = await this.#accept(params, context);
    if (params.configuration?.returnImmediately === true) return taskOf(view, historyLength(params));
    let last = view;
    for await (const next of watchTask(this.#watchOptions(view.run.id, context))) {
      last = next;
      if (settled(next, after)) break;
    }
    return taskOf(last, historyLength(params));
  }

  async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const { view, after, created } = await this.#accept(params, context);
    const first = taskOf(view, historyLength(params));
    if (created && first.status !== undefined) first.status.state = TaskState.TASK_STATE_SUBMITTED;
    yield { payload: { $case: 'task', value: first } };
    yield* this.#follow(view.run.id, context, created ? undefined : signatureOf(view), after);
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    const view = await this.#task(params.id, context);
    this.options.push?.ensure(view.run.id, false);
    return taskOf(view, params.historyLength);
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
    const [beforeText, afterId] = params.pageToken === '' ? [] : params.pageToken.split(':');
    const before = beforeText === undefined ? undefined : Number(beforeText);
    if (before !== undefined && !Number.isFinite(before))
      throw new RequestMalformedError('Invalid pageToken.');
    const runs: RunRecord[] = [];
    let cursor = before === undefined ? undefined : before + 1;
    while (runs.length <= pageSize) {
      const page = await this.options.runtime.store.listRuns({
        ...(params.contextId === '' ? {} : { threadId: params.contextId }),
        ...(cursor === undefined ? {} : { createdBefore: cursor }),
        limit: 100,
      });
      for (const run of page) {
        if (before !== undefined && run.createdAt === before && afterId !== undefined && run.id >= afterId)
          continue;
        if (this.#visible(run, context)) runs.push(run);
      }
      if (page.length < 100) break;
      cursor = (page.at(-1) as RunRecord).createdAt + 1;
      if (runs.length > pageSize) break;
    }
    const tasks: Task[] = [];
    for (const run of runs) {
      const view = await readView(this.options.runtime.store, run.id, decode);
      if (view === undefined) continue;
      if (params.status !== TaskState.TASK_STATE_UNSPECIFIED && stateOf(view) !== params.status) continue;
      const task = taskOf(view, params.historyLength);
      if (params.includeArtifacts !== true) task.artifacts = [];
      tasks.push(task);
      if (tasks.length === pageSize) break;
    }
    const lastRun = tasks.length === pageSize ? runs.find((run) => run.id === tasks.at(-1)?.id) : undefined;
    return {
      tasks,
      nextPageToken: lastRun === undefined ? '' : `${lastRun.createdAt}:${lastRun.id}`,
      pageSize,
      totalSize: tasks.length,
    };
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const view = await this.#task(params.id, context);
    if (isEnded(view)) throw new TaskNotCancelableError(`Task ${params.id} has ended (${view.run.status}).`);
    await this.options.runtime.cancel(params.id);
    return taskOf((await readView(this.options.runtime.store, params.id, decode)) ?? view);
  }

  async createTaskPushNotificationConfig(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const push = this.#push();
    const view = await this.#task(params.taskId, context);
    const saved = await savePushConfig(
      this.options.runtime.store,
      view.run.id,
      params,
      this.options.allowPushUrl,
    );
    push.ensure(view.run.id, false);
    return saved;
  }

  async getTaskPushNotificationConfig(
    params: GetTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    this.#push();
    await this.#task(params.taskId, context);
    const found = (await readPushConfigs(this.options.runtime.store, params.taskId)).find(
      (config) => config.id === params.id,
    );
    if (found === undefined)
      throw new TaskNotFoundError(`Task ${params.taskId} has no push config ${params.id}.`);
    return found;
  }

  async listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    this.#push();
    await this.#task(params.taskId, context);
    return { configs: await readPushConfigs(this.options.runtime.store, params.taskId), nextPageToken: '' };
  }

  async deleteTaskPushNotificationConfig(
    params: DeleteTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<void> {
    this.#push();
    await this.#task(params.taskId, context);
    await deletePushConfig(this.options.runtime.store, params.taskId, params.id);
  }

  async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const view = await this.#task(params.id, context);
    if (isEnded(view))
      throw new UnsupportedOperationError(
        `Task ${params.id} has ended (${view.run.status}); read it with GetTask.`,
      );
    this.options.push?.ensure(view.run.id, false);
    yield { payload: { $case: 'task', value: taskOf(view) } };
    yield* this.#follow(view.run.id, context, signatureOf(view), signatureOf(view));
  }

  /**
   * A message: a new task (a run of the bound target, or of the skill its metadata names), or
   * the answer to an input-required task's wait. Returns the task and the signature a blocking
   * call must see change before an input-required state counts.
   */
  async #accept(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): Promise<{ view: TaskView; after: string | undefined; created: boolean }> {
    const message = params.message;
    if (message === undefined || message.messageId === '')
      throw new RequestMalformedError('message.messageId is required.');
    const key = context.state.get(stateKeys.key) as A2aKey | undefined;
    const store = this.options.runtime.store;
    if (message.taskId !== '') {
      const view = await this.#task(message.taskId, context);
      if (isEnded(view))
        throw new UnsupportedOperationError(
          `Task ${message.taskId} has ended (${view.run.status}); start a new task.`,
        );
      const open = openRequests(view);
      if (stateOf(view) !== TaskState.TASK_STATE_INPUT_REQUIRED)
        throw new UnsupportedOperationError(
          `Task ${message.taskId} is working; it takes a message only while input-required (subscribe to follow it).`,
        );
      const reply = replyOf(message, open, key === undefined ? undefined : (key.name ?? key.id));
      try {
        await this.options.runtime.signal(view.run.id, reply.signal, reply.payload);
      } catch (error) {
        if (BatonError.isInstance(error) && error.code === 'INVALID_SIGNAL_PAYLOAD')
          throw new RequestMalformedError(error.message);
        if (BatonError.isInstance(error) && error.code === 'RUN_ENDED')
          throw new UnsupportedOperationError(error.message);
        throw error;
      }
      await store.appendRecord(taskStream(view.run.id), {
        type: 'message',
        message: Message.toJSON(message),
      });
      await this.#watchPush(view.run.id, params);
      const after = signatureOf(view);
      return { view: (await readView(store, view.run.id, decode)) ?? view, after, created: false };
    }
    const target = this.#targetFor(params, context);
    if (message.contextId !== '' && !contextPattern.test(message.contextId))
      throw new RequestMalformedError(
        'contextId must be 1 to 151 letters, digits, "_", "-", ".", ":" or "@", starting with a letter or digit.',
      );
    const contextId = message.contextId === '' ? `ctx-${randomUUID()}` : message.contextId;
    const input = inputOf(message);
    // The same message (id) from the same key is the same task: a client's retry finds it.
    const runId = `run_a2a_${createHash('sha256')
      .update(`${key?.id ?? ''}\n${message.messageId}`)
      .digest('hex')
      .slice(0, 40)}`;
    let created = true;
    if ((await store.getRun(runId)) === undefined) {
      await store.appendRecord(taskStream(runId), {
        type: 'message',
        message: Message.toJSON({ ...message, contextId, taskId: runId }),
      });
      try {
        await this.options.runtime.start(target.runnable.name, input, {
          runId,
          threadId: contextId,
          ...(target.source === undefined ? {} : { source: target.source }),
        });
      } catch (error) {
        if (!(BatonError.isInstance(error) && error.code === 'RUN_EXISTS')) {
          if (BatonError.isInstance(error) && error.code === 'INVALID_INPUT')
            throw new RequestMalformedError(error.message);
          throw error;
        }
        created = false;
      }
    } else created = false;
    const view = await this.#task(runId, context);
    await this.#watchPush(runId, params);
    return { view, after: undefined, created };
  }

  async *#follow(
    runId: string,
    context: ServerCallContext,
    skip: string | undefined,
    after: string | undefined,
  ): AsyncGenerator<StreamResponse> {
    for await (const view of watchTask(this.#watchOptions(runId, context))) {
      if (signatureOf(view) === skip) continue;
      yield* eventsOf(view);
      if (settled(view, after)) return;
    }
  }

  #watchOptions(runId: string, context: ServerCallContext) {
    return {
      store: this.options.runtime.store,
      runId,
      pollMs: this.options.pollMs,
      signal: context.state.get(stateKeys.signal) as AbortSignal | undefined,
      decode,
    };
  }

  /** Saves the message's push config (if any) and makes sure the task's configs are served. */
  async #watchPush(runId: string, params: SendMessageRequest): Promise<void> {
    const config = params.configuration?.taskPushNotificationConfig;
    if (config === undefined) {
      this.options.push?.ensure(runId, false);
      return;
    }
    const push = this.#push();
    await savePushConfig(this.options.runtime.store, runId, config, this.options.allowPushUrl);
    push.ensure(runId, true);
  }

  #push(): PushNotifier {
    if (this.options.push === undefined)
      throw new PushNotificationNotSupportedError('This server sends no push notifications.');
    return this.options.push;
  }

  /** The served target a new message starts: the bound one, the skill named in metadata, or the only one. */
  #targetFor(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): { runnable: Runnable; source?: string } {
    const bound = context.state.get(stateKeys.target) as string | undefined;
    const named = bound ?? skillIn(params.message?.metadata) ?? skillIn(params.metadata);
    const targets = this.options.targets;
    const name = named ?? (targets.size === 1 ? [...targets.keys()][0] : undefined);
    if (name === undefined)
      throw new RequestMalformedError(
        `Name the skill to run in the message metadata ({ "skill": "<name>" }), or use /a2a/<skill>. Skills: ${[...targets.keys()].join(', ')}.`,
      );
    const target = targets.get(name);
    if (target === undefined)
      throw new RequestMalformedError(
        `No skill "${name}" is served. Skills: ${[...targets.keys()].join(', ')}.`,
      );
    this.#assertReach(context, name);
    return target;
  }

  /** The task, when it is a run of a target this endpoint serves and the key reaches it. */
  async #task(taskId: string, context: ServerCallContext): Promise<TaskView> {
    if (taskId.trim() === '') throw new RequestMalformedError('The task id is required.');
    const view = await readView(this.options.runtime.store, taskId, decode);
    const bound = context.state.get(stateKeys.target) as string | undefined;
    if (
      view === undefined ||
      !this.options.targets.has(view.run.target) ||
      (bound !== undefined && bound !== view.run.target)
    )
      throw new TaskNotFoundError(`No task ${taskId}.`);
    this.#assertReach(context, view.run.target);
    return view;
  }

  #visible(run: RunRecord, context: ServerCallContext): boolean {
    const bound = context.state.get(stateKeys.target) as string | undefined;
    if (!this.options.targets.has(run.target) || (bound !== undefined && bound !== run.target)) return false;
    return reaches(context.state.get(stateKeys.key) as A2aKey | undefined, run.target);
  }

  #assertReach(context: ServerCallContext, target: string): void {
    if (reaches(context.state.get(stateKeys.key) as A2aKey | undefined, target)) return;
    const message = `This key does not reach target "${target}".`;
    context.state.set(stateKeys.forbidden, message);
    throw new ForbiddenTargetError(message);
  }
}

/** True once a followed task needs nothing more from this call: ended, or input-required with questions other than `after`'s. */
function settled(view: TaskView, after: string | undefined): boolean {
  if (finalStates.has(stateOf(view)) || isEnded(view)) return true;
  return stateOf(view) === TaskState.TASK_STATE_INPUT_REQUIRED && signatureOf(view) !== after;
}

function reaches(key: A2aKey | undefined, target: string): boolean {
  return key?.targets === undefined || key.scopes.includes('admin') || key.targets.includes(target);
}

function skillIn(metadata: Record<string, unknown> | undefined): string | undefined {
  const skill = metadata?.skill ?? metadata?.target;
  return typeof skill === 'string' ? skill : undefined;
}

function historyLength(params: SendMessageRequest): number | undefined {
  return params.configuration?.historyLength;
}
