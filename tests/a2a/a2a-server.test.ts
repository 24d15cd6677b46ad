/** Baton's A2A server, driven by the SDK's own client over loopback HTTP: card, send, stream, get, cancel, input-required and resume, push notifications, keys. */

import { type StreamResponse, TaskState } from '@a2a-js/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  createRuntime,
  human,
  type Runtime,
  type Store,
  tool,
  workflow,
} from '../../src/index.js';
import { createApiKey, createServer } from '../../src/server/index.js';
import { type Listening, listen } from '../../src/server/listen.js';
import { scriptedModel } from '../../src/testing/index.js';
import { eventually, pushReceiver, request, sdkClient, text, userMessage } from './a2a-fixtures.js';

const echo = workflow({ name: 'echo' }, async (ctx, input: unknown) =>
  ctx.step('echo', () => `Echo: ${typeof input === 'string' ? input : JSON.stringify(input)}`),
);
const editor = human({ name: 'editor', prompt: 'Publish this draft?' });
const publish = workflow({ name: 'publish' }, async (ctx, draft: string) => {
  const answer = await ctx.run(editor, draft);
  return `Published "${draft}": ${answer}`;
});
const refunds: number[] = [];
const refund = tool({
  name: 'refund',
  description: 'Refunds an amount',
  input: z.object({ amount: z.number() }),
  approval: 'always',
  execute: ({ amount }) => {
    refunds.push(amount);
    return `refunded ${amount}`;
  },
});
const refunder = agent({
  name: 'refunder',
  instructions: 'Refund what is asked.',
  tools: [refund],
  model: scriptedModel([{ toolCalls: [{ tool: 'refund', input: { amount: 5 } }] }, { text: 'Refunded 5.' }]),
});
const nap = workflow({ name: 'nap' }, async (ctx) => {
  await ctx.sleep(600_000);
  return 'rested';
});

let store: Store;
let runtime: Runtime;
let server: Listening;
let abort: AbortController;
let key: string;

beforeAll(async () => {
  store = createMemoryStore();
  runtime = createRuntime({ store, pollIntervalMs: 50 });
  abort = new AbortController();
  const app = createServer({
    runtime,
    targets: [echo, publish, nap, refunder],
    keyCacheMs: 0,
    pollMs: 20,
    signal: abort.signal,
  });
  server = await listen(app, { port: 0 });
  key = (await createApiKey(store, { scopes: ['read', 'run'] })).key;
});

afterAll(async () => {
  abort.abort();
  await server.close();
  await runtime.close();
});

async function collect(stream: AsyncGenerator<StreamResponse>): Promise<StreamResponse[]> {
  const events: StreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function stateOfEvent(event: StreamResponse): TaskState | undefined {
  const payload = event.payload;
  if (payload?.$case === 'task') return payload.value.status?.state;
  if (payload?.$case === 'statusUpdate') return payload.value.status?.state;
  return undefined;
}

describe('the A2A server', () => {
  it('publishes an Agent Card at the well-known path: a skill per target, the JSON-RPC endpoint, bearer auth', async () => {
    const response = await fetch(`${server.url}/.well-known/agent-card.json`);
    expect(response.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the card's JSON, checked below
    const card: any = await response.json();
    expect(card.skills.map((skill: { id: string }) => skill.id)).toEqual([
      'echo',
      'publish',
      'nap',
      'refunder',
    ]);
    expect(card.supportedInterfaces[0]).toMatchObject({
      url: `${server.url}/a2a`,
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
    });
    expect(card.securitySchemes.bearer.httpAuthSecurityScheme.scheme).toBe('Bearer');
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    // biome-ignore lint/suspicious/noExplicitAny: the card's JSON, checked below
    const one: any = await (await fetch(`${server.url}/a2a/echo/.well-known/agent-card.json`)).json();
    expect(one.name).toBe('echo');
    expect(one.supportedInterfaces[0].url).toBe(`${server.url}/a2a/echo`);
  });

  it('runs a message to completion (SendMessage): the task is the run, its output the artifact', async () => {
    const client = await sdkClient(`${server.url}/a2a/echo/`, key);
    const task = await client.sendMessage(request(userMessage([text('hello')])));
    if (!('status' in task)) throw new Error('expected a task');
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'Echo: hello' });
    const run = await runtime.get(task.id);
    expect(run).toMatchObject({
      target: 'echo',
      status: 'completed',
      output: 'Echo: hello',
      threadId: task.contextId,
    });
    const read = await client.getTask({ tenant: '', id: task.id });
    expect(read.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(read.history[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'hello' });
  });

  it('picks the skill from the message metadata on the server endpoint, and refuses a message that names none', async () => {
    const client = await sdkClient(server.url, key);
    const task = await client.sendMessage(
      request(userMessage([text('hi')], { metadata: { skill: 'echo' } })),
    );
    expect('status' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await expect(client.sendMessage(request(userMessage([text('hi')])))).rejects.toThrow(/Name the skill/);
  });

  it('streams a task (SendStreamingMessage): submitted, working, the artifact, completed', async () => {
    const client = await sdkClient(`${server.url}/a2a/echo/`, key);
    const events = await collect(client.sendMessageStream(request(userMessage([text('stream me')]))));
    expect(events[0]?.payload?.$case).toBe('task');
    expect(stateOfEvent(events[0] as StreamResponse)).toBe(TaskState.TASK_STATE_SUBMITTED);
    const artifact = events.find((event) => event.payload?.$case === 'artifactUpdate');
    expect(
      artifact?.payload?.$case === 'artifactUpdate' && artifact.payload.value.artifact?.parts[0]?.content,
    ).toEqual({
      $case: 'text',
      value: 'Echo: stream me',
    });
    expect(stateOfEvent(events.at(-1) as StreamResponse)).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('cancels a working task (CancelTask), and refuses to cancel it again', async () => {
    const client = await sdkClient(`${server.url}/a2a/nap/`, key);
    const started = await client.sendMessage(
      request(userMessage([text('sleep')]), { returnImmediately: true }),
    );
    if (!('status' in started)) throw new Error('expected a task');
    await eventually(async () => (await runtime.get(started.id)).status === 'suspended');
    const read = await client.getTask({ tenant: '', id: started.id });
    expect(read.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect((await runtime.get(started.id)).status).toBe('cancelled');
    await expect(client.cancelTask({ tenant: '', id: started.id, metadata: undefined })).rejects.toThrow(
      /ended/,
    );
  });

  it("reports a run waiting for a person as input-required, and the client's next message on the task resumes it", async () => {
    const client = await sdkClient(`${server.url}/a2a/publish/`, key);
    const asked = await client.sendMessage(request(userMessage([text('Launch post')])));
    if (!('status' in asked)) throw new Error('expected a task');
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const question = asked.status?.message?.parts[0]?.content;
    expect(question?.$case === 'text' && question.value).toContain('Publish this draft?');
    const done = await client.sendMessage(
      request(userMessage([text('yes, ship it')], { taskId: asked.id, contextId: asked.contextId })),
    );
    if (!('status' in done)) throw new Error('expected a task');
    expect(done.id).toBe(asked.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(done.artifacts[0]?.parts[0]?.content).toEqual({
      $case: 'text',
      value: 'Published "Launch post": yes, ship it',
    });
    // A finished task takes no more messages.
    await expect(
      client.sendMessage(request(userMessage([text('again')], { taskId: asked.id }))),
    ).rejects.toThrow(/ended/);
  });

  it('asks a person to approve a tool call (input-required), refuses an unclear answer, and runs the tool on "approve"', async () => {
    const client = await sdkClient(`${server.url}/a2a/refunder/`, key);
    const asked = await client.sendMessage(request(userMessage([text('Refund 5 please')])));
    if (!('status' in asked)) throw new Error('expected a task');
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const question = asked.status?.message?.parts[0]?.content;
    expect(question?.$case === 'text' && question.value).toContain('refund');
    const requests = asked.status?.message?.parts[1]?.content;
    expect(requests?.$case === 'data' && requests.value.requests[0]).toMatchObject({
      kind: 'approval',
      tool: 'refund',
    });
    await expect(
      client.sendMessage(request(userMessage([text('maybe')], { taskId: asked.id }))),
    ).rejects.toThrow(/approve/);
    expect(refunds).toEqual([]);
    const done = await client.sendMessage(request(userMessage([text('approve')], { taskId: asked.id })));
    expect('status' in done && done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(refunds).toEqual([5]);
    const listed = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 10,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    });
    // The target's endpoint lists only its own tasks.
    expect(listed.tasks.map((task) => task.id)).toEqual([asked.id]);
  });

  it('resubscribes to an input-required task (SubscribeToTask) and follows it to the end after the answer', async () => {
    const client = await sdkClient(`${server.url}/a2a/publish/`, key);
    const asked = await client.sendMessage(request(userMessage([text('Second post')])));
    if (!('status' in asked)) throw new Error('expected a task');
    const events: StreamResponse[] = [];
    const following = (async () => {
      for await (const event of client.resubscribeTask({ tenant: '', id: asked.id })) events.push(event);
    })();
    await eventually(() => events.length > 0);
    expect(stateOfEvent(events[0] as StreamResponse)).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    await client.sendMessage(request(userMessage([text('ok')], { taskId: asked.id })), {});
    await following;
    expect(stateOfEvent(events.at(-1) as StreamResponse)).toBe(TaskState.TASK_STATE_COMPLETED);
    await expect(collect(client.resubscribeTask({ tenant: '', id: asked.id }))).rejects.toThrow(/ended/);
  });

  it('POSTs state changes to the push notification URL with its token', async () => {
    const receiver = await pushReceiver();
    try {
      const client = await sdkClient(`${server.url}/a2a/publish/`, key);
      const started = await client.sendMessage(
        request(userMessage([text('Third post')]), {
          returnImmediately: true,
          taskPushNotificationConfig: {
            tenant: '',
            id: '',
            taskId: '',
            url: receiver.url,
            token: 'secret-token',
            authentication: undefined,
          },
        }),
      );
      if (!('status' in started)) throw new Error('expected a task');
      const states = () =>
        receiver.received.map(
          (hit) => (hit.body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state,
        );
      await eventually(() => states().includes('TASK_STATE_INPUT_REQUIRED'));
      await client.sendMessage(request(userMessage([text('go')], { taskId: started.id })));
      await eventually(() => states().includes('TASK_STATE_COMPLETED'));
      expect(
        receiver.received.every((hit) => hit.headers['x-a2a-notification-token'] === 'secret-token'),
      ).toBe(true);
      expect(receiver.received.every((hit) => hit.headers['content-type'] === 'application/a2a+json')).toBe(
        true,
      );
      const configs = await client.listTaskPushNotificationConfig({
        tenant: '',
        taskId: started.id,
        pageSize: 0,
        pageToken: '',
      });
      expect(configs.configs.map((config) => config.url)).toEqual([receiver.url]);
    } finally {
      await receiver.close();
    }
  });

  it('answers 401 without a valid key and 403 outside its scope or targets, as the REST API does', async () => {
    const rpc = (headers: Record<string, string>, path = '/a2a/echo') =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'SendMessage',
          params: { message: { messageId: 'x', role: 'ROLE_USER', parts: [{ text: 'hi' }] } },
        }),
      });
    const missing = await rpc({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await rpc({ authorization: 'Bearer bk_nope' })).status).toBe(401);
    const reader = (await createApiKey(store, { scopes: ['read'] })).key;
    const refused = await rpc({ authorization: `Bearer ${reader}` });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const other = (await createApiKey(store, { scopes: ['read', 'run'], targets: ['publish'] })).key;
    expect((await rpc({ authorization: `Bearer ${other}` })).status).toBe(403);
    // The SDK client sees the same refusal.
    const client = await sdkClient(`${server.url}/a2a/echo/`, reader);
    await expect(client.sendMessage(request(userMessage([text('hi')])))).rejects.toThrow(/403/);
    const task = await (await sdkClient(`${server.url}/a2a/echo/`, key)).sendMessage(
      request(userMessage([text('mine')])),
    );
    if (!('status' in task)) throw new Error('expected a task');
    const outsider = await sdkClient(`${server.url}/a2a/echo/`, other);
    await expect(outsider.getTask({ tenant: '', id: task.id })).rejects.toThrow(/403/);
  });

  it('is left out with a2a: false, and its card names no security scheme without keys (auth: false)', async () => {
    const off = createServer({ runtime, targets: [echo], a2a: false });
    expect((await off.request('/.well-known/agent-card.json')).status).toBe(404);
    expect((await off.request('/a2a/echo', { method: 'POST', body: '{}' })).status).toBe(404);
    const open = createServer({
      runtime,
      targets: [echo],
      auth: false,
      a2a: { name: 'desk', description: 'The help desk' },
    });
    const card = (await (await open.request('http://desk.example/.well-known/agent-card.json')).json()) as {
      name: string;
      description: string;
      securitySchemes?: Record<string, unknown>;
      supportedInterfaces: { url: string }[];
    };
    expect(card).toMatchObject({ name: 'desk', description: 'The help desk' });
    expect(card.securitySchemes ?? {}).toEqual({});
    expect(card.supportedInterfaces[0]?.url).toBe('http://desk.example/a2a');
  });

  it('takes the v0.3 method names too (message/send)', async () => {
    const response = await fetch(`${server.url}/a2a/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            messageId: 'legacy-1',
            role: 'user',
            parts: [{ kind: 'text', text: 'old' }],
          },
        },
      }),
    });
    const answer = (await response.json()) as { result?: unknown };
    expect(answer.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
  });
});
