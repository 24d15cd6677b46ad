/** Who may see which task: the caller's key, the endpoint's target, and the served targets, as the A2A handler checks them. */

import { Message, type SendMessageRequest } from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { Runnable, RunRecord, Runtime } from '../../index.js';
import type { TaskView } from './a2a-task.js';
import { readView } from './a2a-watch.js';

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

/** What an A2A endpoint serves: a runtime and its targets by name. */
export interface Served {
  runtime: Runtime;
  targets: ReadonlyMap<string, { runnable: Runnable; source?: string }>;
}

/** Reads a task's client messages back from their stored JSON. */
export const decodeMessage = (json: unknown): Message => Message.fromJSON(json);

/** The caller's key, when the server checks keys. */
export function keyOf(context: ServerCallContext): A2aKey | undefined {
  return context.state.get(stateKeys.key) as A2aKey | undefined;
}

/** The target of a `/a2a/<target>` endpoint, undefined on the server's `/a2a`. */
export function boundTarget(context: ServerCallContext): string | undefined {
  return context.state.get(stateKeys.target) as string | undefined;
}

/** The task, when it is a run of a target this endpoint serves and the key reaches it. */
export async function readTask(
  served: Served,
  taskId: string,
  context: ServerCallContext,
): Promise<TaskView> {
  if (taskId.trim() === '') throw new RequestMalformedError('The task id is required.');
  const view = await readView(served.runtime.store, taskId, decodeMessage);
  const bound = boundTarget(context);
  if (
    view === undefined ||
    !served.targets.has(view.run.target) ||
    (bound !== undefined && bound !== view.run.target)
  )
    throw new TaskNotFoundError(`No task ${taskId}.`);
  assertReach(context, view.run.target);
  return view;
}

/** True when the run is a task this endpoint shows the caller. */
export function isVisible(served: Served, run: RunRecord, context: ServerCallContext): boolean {
  const bound = boundTarget(context);
  if (!served.targets.has(run.target) || (bound !== undefined && bound !== run.target)) return false;
  return reaches(keyOf(context), run.target);
}

/** Throws a {@link ForbiddenTargetError} (and notes it for the HTTP layer) when the key does not reach `target`. */
export function assertReach(context: ServerCallContext, target: string): void {
  if (reaches(keyOf(context), target)) return;
  const message = `This key does not reach target "${target}".`;
  context.state.set(stateKeys.forbidden, message);
  throw new ForbiddenTargetError(message);
}

/** The served target a new message starts: the bound one, the skill named in metadata, or the only one. */
export function targetFor(
  served: Served,
  params: SendMessageRequest,
  context: ServerCallContext,
): { runnable: Runnable; source?: string } {
  const named = boundTarget(context) ?? skillIn(params.message?.metadata) ?? skillIn(params.metadata);
  const targets = served.targets;
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
  assertReach(context, name);
  return target;
}

function reaches(key: A2aKey | undefined, target: string): boolean {
  return key?.targets === undefined || key.scopes.includes('admin') || key.targets.includes(target);
}

function skillIn(metadata: Record<string, unknown> | undefined): string | undefined {
  const skill = metadata?.skill ?? metadata?.target;
  return typeof skill === 'string' ? skill : undefined;
}
