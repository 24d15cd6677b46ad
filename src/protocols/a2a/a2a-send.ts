/** A client's message to the A2A endpoint: a new task (a run of a target) or the answer to an input-required task's wait. */

import { createHash, randomUUID } from 'node:crypto';
import { Message, type SendMessageRequest, TaskState } from '@a2a-js/sdk';
import {
  PushNotificationNotSupportedError,
  RequestMalformedError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import { BatonError } from '../../index.js';
import { decodeMessage, keyOf, readTask, type Served, targetFor } from './a2a-access.js';
import { type PushNotifier, savePushConfig } from './a2a-push.js';
import { replyOf } from './a2a-reply.js';
import { inputOf, openRequests, signatureOf, stateOf, type TaskView } from './a2a-task.js';
import { isEnded, readView, taskStream } from './a2a-watch.js';

/** What accepting a message needs besides the served targets. */
export interface SendDeps extends Served {
  push: PushNotifier | undefined;
  allowPushUrl: ((url: URL) => boolean) | undefined;
}

/** The task a message made or answered; `after`: the signature a blocking call must see change before an input-required state counts. */
export interface Accepted {
  view: TaskView;
  after: string | undefined;
  created: boolean;
}

const contextPattern = /^[A-Za-z0-9][\w.:@-]{0,150}$/;

/**
 * Accepts a message: with a `taskId`, the answer to that task's open wait (the run continues);
 * without, a new run of the target, its id derived from the caller's key and the message id (so a
 * client's retry finds the same task) and its thread the message's `contextId` (or a new one).
 */
export async function acceptMessage(
  deps: SendDeps,
  params: SendMessageRequest,
  context: ServerCallContext,
): Promise<Accepted> {
  const message = params.message;
  if (message === undefined || message.messageId === '')
    throw new RequestMalformedError('message.messageId is required.');
  const key = keyOf(context);
  const store = deps.runtime.store;
  if (message.taskId !== '') {
    const view = await readTask(deps, message.taskId, context);
    if (isEnded(view))
      throw new UnsupportedOperationError(
        `Task ${message.taskId} has ended (${view.run.status}); start a new task.`,
      );
    if (stateOf(view) !== TaskState.TASK_STATE_INPUT_REQUIRED)
      throw new UnsupportedOperationError(
        `Task ${message.taskId} is working; it takes a message only while input-required (subscribe to follow it).`,
      );
    const reply = replyOf(message, openRequests(view), key === undefined ? undefined : (key.name ?? key.id));
    try {
      await deps.runtime.signal(view.run.id, reply.signal, reply.payload);
    } catch (error) {
      if (BatonError.isInstance(error) && error.code === 'INVALID_SIGNAL_PAYLOAD')
        throw new RequestMalformedError(error.message);
      if (BatonError.isInstance(error) && error.code === 'RUN_ENDED')
        throw new UnsupportedOperationError(error.message);
      throw error;
    }
    await store.appendRecord(taskStream(view.run.id), { type: 'message', message: Message.toJSON(message) });
    await watchPush(deps, view.run.id, params);
    return {
      view: (await readView(store, view.run.id, decodeMessage)) ?? view,
      after: signatureOf(view),
      created: false,
    };
  }
  const target = targetFor(deps, params, context);
  if (message.contextId !== '' && !contextPattern.test(message.contextId))
    throw new RequestMalformedError(
      'contextId must be 1 to 151 letters, digits, "_", "-", ".", ":" or "@", starting with a letter or digit.',
    );
  const contextId = message.contextId === '' ? `ctx-${randomUUID()}` : message.contextId;
  const input = inputOf(message);
  const digest = createHash('sha256')
    .update(`${key?.id ?? ''}\n${message.messageId}`)
    .digest('hex');
  const runId = `run_a2a_${digest.slice(0, 40)}`;
  let created = (await store.getRun(runId)) === undefined;
  if (created) {
    await store.appendRecord(taskStream(runId), {
      type: 'message',
      message: Message.toJSON({ ...message, contextId, taskId: runId }),
    });
    try {
      await deps.runtime.start(target.runnable.name, input, {
        runId,
        threadId: contextId,
        ...(target.source === undefined ? {} : { source: target.source }),
      });
    } catch (error) {
      if (BatonError.isInstance(error) && error.code === 'INVALID_INPUT')
        throw new RequestMalformedError(error.message);
      // Another request with the same message won the race: answer with its task.
      if (!(BatonError.isInstance(error) && error.code === 'RUN_EXISTS')) throw error;
      created = false;
    }
  }
  const view = await readTask(deps, runId, context);
  await watchPush(deps, runId, params);
  return { view, after: undefined, created };
}

/** Saves the message's push config (if any) and makes sure the task's configs are served. */
async function watchPush(deps: SendDeps, runId: string, params: SendMessageRequest): Promise<void> {
  const config = params.configuration?.taskPushNotificationConfig;
  if (config === undefined) {
    deps.push?.ensure(runId, false);
    return;
  }
  if (deps.push === undefined)
    throw new PushNotificationNotSupportedError('This server sends no push notifications.');
  await savePushConfig(deps.runtime.store, runId, config, deps.allowPushUrl);
  deps.push.ensure(runId, true);
}
