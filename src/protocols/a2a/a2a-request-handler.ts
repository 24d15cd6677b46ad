/** The A2A methods over a Baton runtime: a task is a run (same id), a message starts a run or answers its wait, streams and pushes follow the run in the store. */

import type {
  AgentCard,
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  ListTasksRequest,
  ListTasksResponse,
  Message,
  SendMessageRequest,
  StreamResponse,
  SubscribeToTaskRequest,
  Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import { TaskState } from '@a2a-js/sdk';
import {
  ExtendedAgentCardNotConfiguredError,
  PushNotificationNotSupportedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { decodeMessage, readTask, stateKeys } from './a2a-access.js';
import { listTaskPage } from './a2a-list.js';
import {
  deletePushConfig,
  eventsOf,
  type PushNotifier,
  readPushConfigs,
  savePushConfig,
} from './a2a-push.js';
import { acceptMessage, type SendDeps } from './a2a-send.js';
import { finalStates, signatureOf, stateOf, type TaskView } from './a2a-task.js';
import { isEnded, readView, shownTask, watchTask } from './a2a-watch.js';

/** What the handler serves. */
export interface BatonRequestHandlerOptions extends SendDeps {
  pollMs: number;
  card: () => AgentCard;
}

/** Baton's `A2ARequestHandler`: what the SDK's JSON-RPC transport handlers dispatch to. */
export class BatonRequestHandler implements A2ARequestHandler {
  constructor(private readonly options: BatonRequestHandlerOptions) {}

  async getAgentCard(): Promise<AgentCard> {
    return this.options.card();
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError('This agent has no extended card.');
  }

  /** Blocks until the task ends or (newly) needs input, unless `returnImmediately`. */
  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    const { view, after } = await acceptMessage(this.options, params, context);
    const historyLength = params.configuration?.historyLength;
    if (params.configuration?.returnImmediately === true) return this.#task(view, historyLength);
    let last = view;
    for await (const next of watchTask(this.#watchOptions(view.run.id, context))) {
      last = next;
      if (settled(next, after)) break;
    }
    return this.#task(last, historyLength);
  }

  async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const { view, after, created } = await acceptMessage(this.options, params, context);
    const first = await this.#task(view, params.configuration?.historyLength);
    if (created && first.status !== undefined) first.status.state = TaskState.TASK_STATE_SUBMITTED;
    yield { payload: { $case: 'task', value: first } };
    yield* this.#follow(view.run.id, context, created ? undefined : signatureOf(view), after);
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    const view = await readTask(this.options, params.id, context);
    this.options.push?.ensure(view.run.id, false);
    return this.#task(view, params.historyLength);
  }

  listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return listTaskPage(this.options, params, context);
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const view = await readTask(this.options, params.id, context);
    if (isEnded(view)) throw new TaskNotCancelableError(`Task ${params.id} has ended (${view.run.status}).`);
    await this.options.runtime.cancel(params.id);
    return this.#task((await readView(this.options.runtime.store, params.id, decodeMessage)) ?? view);
  }

  async createTaskPushNotificationConfig(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const push = this.#push();
    const view = await readTask(this.options, params.taskId, context);
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
    await readTask(this.options, params.taskId, context);
    const configs = await readPushConfigs(this.options.runtime.store, params.taskId);
    const found = configs.find((config) => config.id === params.id);
    if (found === undefined)
      throw new TaskNotFoundError(`Task ${params.taskId} has no push config ${params.id}.`);
    return found;
  }

  async listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    this.#push();
    await readTask(this.options, params.taskId, context);
    return { configs: await readPushConfigs(this.options.runtime.store, params.taskId), nextPageToken: '' };
  }

  async deleteTaskPushNotificationConfig(
    params: DeleteTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<void> {
    this.#push();
    await readTask(this.options, params.taskId, context);
    await deletePushConfig(this.options.runtime.store, params.taskId, params.id);
  }

  /** The task now, then its changes until it ends or newly needs input; an ended task is refused. */
  async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const view = await readTask(this.options, params.id, context);
    if (isEnded(view))
      throw new UnsupportedOperationError(
        `Task ${params.id} has ended (${view.run.status}); read it with GetTask.`,
      );
    this.options.push?.ensure(view.run.id, false);
    yield { payload: { $case: 'task', value: await this.#task(view) } };
    yield* this.#follow(view.run.id, context, signatureOf(view), signatureOf(view));
  }

  /** The task's changes as stream events (`skip`: a state the client has), until it settles. */
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

  /** The task as the client is shown it: its history as the run's guardrails left it. */
  #task(view: TaskView, historyLength?: number): Promise<Task> {
    return shownTask(this.options.runtime.store, view, historyLength);
  }

  #watchOptions(runId: string, context: ServerCallContext) {
    return {
      store: this.options.runtime.store,
      runId,
      pollMs: this.options.pollMs,
      signal: context.state.get(stateKeys.signal) as AbortSignal | undefined,
      decode: decodeMessage,
    };
  }

  #push(): PushNotifier {
    if (this.options.push === undefined)
      throw new PushNotificationNotSupportedError('This server sends no push notifications.');
    return this.options.push;
  }
}

/** True once a followed task needs nothing more from this call: ended, or input-required with questions other than `after`'s. */
function settled(view: TaskView, after: string | undefined): boolean {
  if (finalStates.has(stateOf(view)) || isEnded(view)) return true;
  return stateOf(view) === TaskState.TASK_STATE_INPUT_REQUIRED && signatureOf(view) !== after;
}
