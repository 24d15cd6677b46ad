/** The A2A client side of remoteAgent: connecting through the agent's card, following a task until it settles, and what a task or message says as a journaled turn. */

import { type Message, type Part, type Task, TaskState } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from '@a2a-js/sdk/client';
import { UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { RemoteAgentError } from './remote-call.js';

/** Where the agent is and how to reach it (the parts of `RemoteAgentOptions` a connection needs). */
export interface RemoteEndpoint {
  url: string;
  token?: string | undefined;
  headers?:
    | Record<string, string>
    | (() => Record<string, string> | Promise<Record<string, string>>)
    | undefined;
}

/** What a call journals: a message from the agent, or its task as it stands. */
export interface RemoteTurn {
  kind: 'message' | 'task';
  taskId?: string;
  contextId?: string;
  /** The task's state, without the `TASK_STATE_` prefix, lowercase (`completed`, `input_required`, ...). */
  state?: string;
  output?: unknown;
  /** The agent's status message, as text (its question when input is required, its error when failed). */
  note?: string;
}

/** A client for the agent: its card read once (through the same headers), JSON-RPC or HTTP+JSON as the card offers. */
export async function connectTo(options: RemoteEndpoint, name: string): Promise<Client> {
  const fetchImpl: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
    for (const [header, value] of Object.entries(extra ?? {})) headers.set(header, value);
    if (options.token !== undefined) headers.set('authorization', `Bearer ${options.token}`);
    const response = await fetch(input, { ...init, headers });
    if (response.ok) return response;
    const body = await response.text().catch(() => '');
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new RemoteAgentError(
      `Remote agent ${name} answered HTTP ${response.status} at ${typeof input === 'string' ? input : input instanceof URL ? input.href : input.url}: ${body.slice(0, 300)}`,
      {
        agent: name,
        code: 'REMOTE_AGENT_UNAVAILABLE',
        statusCode: response.status,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after')
          ? { retryAfterMs: retryAfter * 1000 }
          : {}),
      },
    );
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  if (options.url.endsWith('.json')) return factory.createFromUrl(options.url, '');
  return factory.createFromUrl(options.url.endsWith('/') ? options.url : `${options.url}/`);
}

/** Reads the task until it ends or needs input: streaming when the agent can, else every `pollMs`. */
export async function settle(
  client: Client,
  taskId: string,
  pollMs: number,
  signal: AbortSignal,
): Promise<Task> {
  const streaming = (await client.getAgentCard({ signal })).capabilities?.streaming === true;
  for (;;) {
    const task = await client.getTask({ tenant: '', id: taskId }, { signal });
    if (settled(task.status?.state)) return task;
    if (streaming) {
      try {
        for await (const event of client.resubscribeTask({ tenant: '', id: taskId }, { signal })) {
          const payload = event.payload;
          const state =
            payload?.$case === 'task' || payload?.$case === 'statusUpdate'
              ? payload.value.status?.state
              : undefined;
          if (settled(state)) break;
        }
      } catch (error) {
        // The task ended between the read and the subscription: read it again.
        if (!(error instanceof UnsupportedOperationError)) throw error;
      }
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, streaming ? Math.min(pollMs, 100) : pollMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

function settled(state: TaskState | undefined): boolean {
  return (
    state === TaskState.TASK_STATE_COMPLETED ||
    state === TaskState.TASK_STATE_FAILED ||
    state === TaskState.TASK_STATE_CANCELED ||
    state === TaskState.TASK_STATE_REJECTED ||
    state === TaskState.TASK_STATE_INPUT_REQUIRED ||
    state === TaskState.TASK_STATE_AUTH_REQUIRED
  );
}

/** What a task says, as a journaled turn. */
export function turnOf(task: Task): RemoteTurn {
  const state = TaskState[task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED]
    ?.replace(/^TASK_STATE_/, '')
    .toLowerCase();
  const parts = task.artifacts.flatMap((artifact) => artifact.parts);
  const status = task.status?.message?.parts ?? [];
  const turn: RemoteTurn = {
    kind: 'task',
    taskId: task.id,
    contextId: task.contextId,
    state: state ?? 'unspecified',
  };
  if (task.status?.state === TaskState.TASK_STATE_COMPLETED)
    turn.output = outputOf(parts.length > 0 ? parts : status);
  const note = textOf(status);
  if (note !== '') turn.note = note;
  return turn;
}

/** The answer in parts: their text joined by new lines, else the one data part's value (several: a list). */
export function outputOf(parts: readonly Part[]): unknown {
  const text = textOf(parts);
  if (text !== '') return text;
  const data = parts.flatMap((part) =>
    part.content?.$case === 'data' ? [part.content.value as unknown] : [],
  );
  return data.length === 1 ? data[0] : data.length === 0 ? '' : data;
}

function textOf(parts: readonly Part[]): string {
  return parts.flatMap((part) => (part.content?.$case === 'text' ? [part.content.value] : [])).join('\n');
}

/** The input as parts: a string as text, anything else as one data part. */
export function partsOf(value: unknown): Part[] {
  if (typeof value === 'string')
    return [
      { content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' },
    ];
  return [
    {
      content: { $case: 'data', value: value ?? null },
      metadata: undefined,
      filename: '',
      mediaType: 'application/json',
    },
  ];
}

/** A message from the agent, as a journaled turn. */
export function messageTurn(message: Message): RemoteTurn {
  return { kind: 'message', output: outputOf(message.parts) };
}
