/** The API sends content as the agents' guardrails left it: a redacted email or key never leaves the server, in a run (alone, listed, in a thread, in any answer that carries it), its journal or its live events (not even in the moment between a tool's result and the guardrail's decision on it), over MCP or A2A. */

import { TaskState } from '@a2a-js/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  guardrail,
  human,
  redactPii,
  redactSecrets,
  runAgent,
  type Store,
  sequential,
  tool,
  workflow,
} from '../../src/index.js';
import { createMcpServer } from '../../src/protocols/mcp/index.js';
import { scriptedModel, waitForStatus } from '../../src/testing/index.js';
import { request, sdkClient, text, userMessage } from '../a2a/a2a-fixtures.js';
import { call, keyWith, readEvents, startServer } from './server-fixtures.js';

const email = 'jane.doe@example.com';
const secret = 'sk-proj-4bT9xQ2mL7vR1cZ8kW3nY6pD0sF5gH2j';
const rawInput = `Customer ${email} asks about plans; their key is ${secret}.`;
const redactedInput = 'Customer [REDACTED:email] asks about plans; their key is [REDACTED:openai-key].';

/** True when a body (any JSON) holds neither the email nor the key. */
const clean = (body: unknown): boolean => {
  const json = JSON.stringify(body) ?? '';
  return !json.includes(email) && !json.includes(secret);
};

/** An intake agent: looks the customer up (the tool returns an email), answers with the email; `redactPii` on every stage, after a journaled guardrail on the tool's output that waits for `gate`. */
function intake(gate: Promise<void>) {
  const lookup = tool({
    name: 'lookup_customer',
    description: 'Finds a customer',
    input: z.object({ id: z.string() }),
    execute: async ({ id }) => ({ id, email, plan: 'pro' }),
  });
  const slowCheck = guardrail({
    name: 'slow-check',
    on: 'tool-output',
    journaled: true,
    check: async () => {
      await gate;
      return { action: 'pass' };
    },
  });
  return agent({
    name: 'intake',
    instructions: 'Look the customer up.',
    tools: [lookup],
    guardrails: [slowCheck, redactPii(), redactSecrets()],
    model: scriptedModel(({ turn }) =>
      turn === 0
        ? { text: 'Looking the customer up.', toolCalls: [{ tool: 'lookup_customer', input: { id: 'C-7' } }] }
        : { text: `Write to ${email} about the pro plan.` },
    ),
  });
}

/** A mailer: asks to mail the customer (with a tool that waits for approval unless `approval` is false), then says it is sent. */
function mailer(name = 'mailer', approval = true) {
  const sendMail = tool({
    name: 'send_mail',
    description: 'Mails a customer',
    input: z.object({ to: z.string() }),
    ...(approval ? { approval: 'always' as const } : {}),
    execute: async ({ to }) => `sent to ${to}`,
  });
  return agent({
    name,
    instructions: 'Mail the customer.',
    tools: [sendMail],
    guardrails: [redactPii(), redactSecrets()],
    model: scriptedModel(({ turn }) =>
      turn === 0
        ? { toolCalls: [{ tool: 'send_mail', input: { to: email }, id: 'call_mail' }] }
        : { text: 'Sent.' },
    ),
  });
}

/** An agent (with redactPii and redactSecrets) summarizes the request in the run's own scope, then the human member `lead` answers it. */
const reviewed = workflow({ name: 'reviewed' }, async (ctx, request: string) => {
  const summarizer = agent({
    name: 'summarizer',
    instructions: 'Summarize the request.',
    guardrails: [redactPii(), redactSecrets()],
    model: scriptedModel(() => ({ text: 'A customer asks about plans.' })),
  });
  const summary = await runAgent(ctx, summarizer, request);
  return ctx.run(human({ name: 'lead', description: 'Answers the customer' }), summary.output);
});

/** A sequential team: its first member (with redactPii and redactSecrets) gets the run's input and decides on it in its own scope. */
const pipeline = sequential({
  name: 'pipeline',
  stages: [
    agent({
      name: 'reader',
      instructions: 'Read the request.',
      guardrails: [redactPii(), redactSecrets()],
      model: scriptedModel(() => ({ text: 'A customer asks about plans.' })),
    }),
    agent({ name: 'replier', instructions: 'Reply.', model: scriptedModel(() => ({ text: 'Replied.' })) }),
  ],
});

let stop: (() => Promise<void>) | undefined;
let open = (): void => {};
afterEach(async () => {
  open();
  await stop?.();
  stop = undefined;
});

async function serve(store: Store, gate: Promise<void>) {
  const started = await startServer(store, {
    targets: [intake(gate), mailer(), mailer('notifier', false), reviewed, pipeline],
    mcp: (served) => createMcpServer(served),
  });
  stop = started.stop;
  return started;
}

/** Starts a run over the API and waits for `status`. */
async function startRun(
  started: Awaited<ReturnType<typeof serve>>,
  key: string,
  body: Record<string, unknown>,
  status: 'completed' | 'suspended',
  headers: Record<string, string> = {},
): Promise<string> {
  const answer = await call(`${started.server.url}/v1/runs`, { key, body, headers });
  expect(answer.status).toBe(201);
  await waitForStatus(started.runtime, answer.body.id, status);
  // The store holds the raw input (so the checks on the answers can fail).
  expect(clean((await started.runtime.get(answer.body.id)).input)).toBe(false);
  return answer.body.id as string;
}

describe('redaction in the API', () => {
  it('sends the run, its journal and its step events as the guardrails left them', async () => {
    const store = createMemoryStore();
    const { runtime, server } = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const started = await call(`${server.url}/v1/runs`, {
      key,
      body: { target: 'intake', input: `Customer ${email} asks about plans.` },
    });
    expect(started.status).toBe(201);
    const runId = started.body.id as string;
    await waitForStatus(runtime, runId, 'completed');
    // The store holds the raw values (so this test can fail): the tool's result and the run's input.
    expect(JSON.stringify(await runtime.journal(runId))).toContain(email);
    expect(JSON.stringify((await runtime.get(runId)).input)).toContain(email);

    const run = await call(`${server.url}/v1/runs/${runId}`, { key });
    const journal = await call(`${server.url}/v1/runs/${runId}/journal`, { key });
    const { events } = await readEvents(`${server.url}/v1/runs/${runId}/events?content=1`, { key });
    for (const body of [run.body, journal.body, events]) {
      expect(JSON.stringify(body)).not.toContain(email);
      expect(JSON.stringify(body)).toContain('[REDACTED:email]');
    }
    expect(run.body.input).toBe('Customer [REDACTED:email] asks about plans.');
    expect(journal.body.held).toBe(0);
    const toolStep = journal.body.entries.find((entry: { kind: string }) => entry.kind === 'tool');
    expect(toolStep.result).toBe('{"id":"C-7","email":"[REDACTED:email]","plan":"pro"}');
    expect(events.filter((event) => event.event === 'step')).toHaveLength(journal.body.entries.length);
  });

  it("holds a running run's tool result back until the guardrails' decisions on it are recorded", async () => {
    const store = createMemoryStore();
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { runtime, server } = await serve(store, gate);
    const key = await keyWith(store, ['read', 'run']);
    const started = await call(`${server.url}/v1/runs`, {
      key,
      body: { target: 'intake', input: 'Customer C-7 asks about plans.' },
    });
    const runId = started.body.id as string;
    // The tool's raw result is recorded, redactPii's rewrite not yet (slow-check holds the guardrails before it).
    const deadline = Date.now() + 10_000;
    while (!(await runtime.journal(runId)).some((entry) => entry.kind === 'tool')) {
      if (Date.now() > deadline) throw new Error('the tool step was never recorded');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(JSON.stringify(await runtime.journal(runId))).toContain(email);

    const journal = await call(`${server.url}/v1/runs/${runId}/journal`, { key });
    expect(JSON.stringify(journal.body)).not.toContain(email);
    expect(journal.body.held).toBeGreaterThanOrEqual(1);
    expect(journal.body.entries.map((entry: { kind: string }) => entry.kind)).not.toContain('tool');
    // The live stream sends what is settled, then the rest once the decisions are in.
    const live = readEvents(`${server.url}/v1/runs/${runId}/events?content=1`, { key });
    await new Promise((resolve) => setTimeout(resolve, 150));
    open();
    const { events } = await live;
    expect(JSON.stringify(events)).not.toContain(email);
    const steps = events.filter((event) => event.event === 'step');
    expect(steps.map((event) => event.data.position)).toEqual(steps.map((_, index) => index + 1));
    expect(steps.some((event) => event.data.kind === 'tool')).toBe(true);
    expect(events.at(-1)?.event).toBe('end');
  });

  it("sends the run list, a search and a thread with each run's input as the guardrails left it", async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const url = started.server.url;
    const runId = await startRun(
      started,
      key,
      { target: 'intake', input: rawInput, threadId: 'th-7' },
      'completed',
    );

    for (const path of ['/v1/runs', '/v1/runs?thread=th-7', '/v1/runs?q=th-7', '/v1/runs?q=intake']) {
      const list = await call(`${url}${path}`, { key });
      expect(list.status, path).toBe(200);
      expect(clean(list.body), path).toBe(true);
      expect(list.body.runs.find((run: { id: string }) => run.id === runId)?.input, path).toBe(redactedInput);
    }
    const thread = await call(`${url}/v1/threads/th-7`, { key });
    expect(thread.status).toBe(200);
    expect(clean(thread.body)).toBe(true);
    expect(thread.body.runs[0].input).toBe(redactedInput);
  });

  it("sends a pattern's run with its input as the member that got it left it", async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const runId = await startRun(started, key, { target: 'pipeline', input: rawInput }, 'completed');
    // The store holds the raw input (so this test can fail).
    expect(clean((await started.runtime.get(runId)).input)).toBe(false);
    const run = await call(`${started.server.url}/v1/runs/${runId}`, { key });
    expect(run.body.input).toBe(redactedInput);
    const list = await call(`${started.server.url}/v1/runs?target=pipeline`, { key });
    expect(clean(list.body)).toBe(true);
  });

  it('answers every route that returns a run (start again, fork, cancel, signal, approve, reply) with its input as the guardrails left it', async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run', 'approve']);
    const url = started.server.url;
    const again = { 'idempotency-key': 'order-7' };
    const runId = await startRun(started, key, { target: 'intake', input: rawInput }, 'completed', again);

    const repeated = await call(`${url}/v1/runs`, {
      key,
      body: { target: 'intake', input: rawInput },
      headers: again,
    });
    expect(repeated.status).toBe(200);
    expect(repeated.body.input).toBe(redactedInput);
    const journal = await call(`${url}/v1/runs/${runId}/journal`, { key });
    const toolKey = journal.body.entries.find((entry: { kind: string }) => entry.kind === 'tool').key;
    const fork = await call(`${url}/v1/runs/${runId}/fork`, { key, body: { at: toolKey } });
    expect(fork.status).toBe(201);
    expect(fork.body.input).toBe(redactedInput);
    const cancelled = await call(`${url}/v1/runs/${runId}/cancel`, { key, method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.input).toBe(redactedInput);

    const waiting = await startRun(started, key, { target: 'mailer', input: rawInput }, 'suspended');
    const signalled = await call(`${url}/v1/runs/${waiting}/signal`, { key, body: { name: 'nudge' } });
    expect(signalled.status).toBe(202);
    expect(signalled.body.input).toBe(redactedInput);
    const approved = await call(`${url}/v1/runs/${waiting}/approvals/call_mail`, {
      key,
      body: { approved: true },
    });
    expect(approved.status).toBe(202);
    expect(approved.body.input).toBe(redactedInput);

    const asking = await startRun(started, key, { target: 'reviewed', input: rawInput }, 'suspended');
    const replied = await call(`${url}/v1/runs/${asking}/reply`, {
      key,
      body: { member: 'lead', text: 'Ok.' },
    });
    expect(replied.status).toBe(202);
    expect(replied.body.input).toBe(redactedInput);
    for (const body of [
      repeated.body,
      fork.body,
      cancelled.body,
      signalled.body,
      approved.body,
      replied.body,
    ])
      expect(clean(body)).toBe(true);
  });

  it("sends a run read over MCP and a task's history over A2A as the guardrails left them", async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const url = started.server.url;
    const runId = await startRun(started, key, { target: 'intake', input: rawInput }, 'completed');

    const mcp = new Client({ name: 'redaction-test', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    const read = await mcp.readResource({ uri: `baton://runs/${runId}` });
    await mcp.close();
    expect(clean(read)).toBe(true);
    const document = read.contents[0];
    expect(document !== undefined && 'text' in document && JSON.parse(document.text).input).toBe(
      redactedInput,
    );

    const client = await sdkClient(`${url}/a2a/intake/`, key);
    const task = await client.sendMessage(request(userMessage([text(rawInput)])));
    if (!('status' in task)) throw new Error('expected a task');
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(clean((await started.runtime.get(task.id)).input)).toBe(false);
    const reader = await sdkClient(`${url}/a2a/intake/`, await keyWith(store, ['read']));
    const got = await reader.getTask({ tenant: '', id: task.id });
    const listed = await reader.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 10,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: true,
    });
    expect(got.history[0]?.parts[0]?.content).toEqual({ $case: 'text', value: redactedInput });
    for (const body of [task, got, listed]) expect(clean(body)).toBe(true);
  });

  it("sends a tool call's arguments that a tool-input guardrail rewrote as rewritten: journal, step events, thread", async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run', 'approve']);
    const url = started.server.url;
    const redacted = { to: '[REDACTED:email]' };
    /** The arguments of the model's call `call_mail` in a journal answer. */
    const askedIn = (body: { entries: { kind: string; result?: { toolCalls?: { input: string }[] } }[] }) =>
      body.entries.find((entry) => entry.kind === 'model')?.result?.toolCalls?.[0]?.input ?? '';

    // Runs at once: the tool step records the arguments it ran with.
    const sent = await startRun(
      started,
      key,
      { target: 'notifier', input: rawInput, threadId: 'th-9' },
      'completed',
    );
    // Waits for approval: the approval request holds them, then the tool step too.
    const gated = await startRun(started, key, { target: 'mailer', input: rawInput }, 'suspended');
    const waiting = await call(`${url}/v1/runs/${gated}/journal`, { key });
    expect(clean(waiting.body)).toBe(true);
    expect(JSON.parse(askedIn(waiting.body))).toEqual(redacted);
    await call(`${url}/v1/runs/${gated}/approvals/call_mail`, { key, body: { approved: true } });
    await waitForStatus(started.runtime, gated, 'completed');

    for (const runId of [sent, gated]) {
      expect(clean(await started.runtime.journal(runId))).toBe(false);
      const journal = await call(`${url}/v1/runs/${runId}/journal`, { key });
      const { events } = await readEvents(`${url}/v1/runs/${runId}/events?content=1`, { key });
      expect(clean(journal.body), runId).toBe(true);
      expect(clean(events), runId).toBe(true);
      expect(JSON.parse(askedIn(journal.body))).toEqual(redacted);
    }
    const thread = await call(`${url}/v1/threads/th-9`, { key });
    expect(clean(thread.body)).toBe(true);
    const asked = thread.body.messages.find((message: { role: string }) => message.role === 'assistant');
    expect(asked.content[0]).toMatchObject({ type: 'tool-call', input: redacted });
  });

  it('sends each guardrail decision of a chain with the text the last one left (redactPii leaves the key that redactSecrets removes)', async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const runId = await startRun(started, key, { target: 'intake', input: rawInput }, 'completed');
    const journal = await call(`${started.server.url}/v1/runs/${runId}/journal`, { key });
    const { events } = await readEvents(`${started.server.url}/v1/runs/${runId}/events?content=1`, { key });
    expect(clean(journal.body)).toBe(true);
    expect(clean(events)).toBe(true);
    const piiDecision = journal.body.entries.find(
      (entry: { name: string }) => entry.name === 'guardrail:pii',
    );
    expect(piiDecision.result.text).toBe(redactedInput);
  });

  it('streams a chat answer as the output guardrails left it', async () => {
    const store = createMemoryStore();
    const started = await serve(store, Promise.resolve());
    const key = await keyWith(store, ['read', 'run']);
    const chat = async (target: string, id: string): Promise<string> => {
      const answer = await fetch(`${started.server.url}/v1/chat/${target}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, messages: [{ role: 'user', parts: [{ type: 'text', text: rawInput }] }] }),
      });
      expect(answer.status).toBe(200);
      return answer.text();
    };
    const intakeChat = await chat('intake', 'chat-1');
    // The model streamed the email; the UI stream has the answer as redactPii left it.
    expect(clean(intakeChat)).toBe(true);
    const chunks = intakeChat
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map(
        (line) => JSON.parse(line.slice('data: '.length)) as { type: string; id?: string; delta?: string },
      );
    // The text that came with the tool call is written before it (no output guardrail judges it).
    const parts: string[] = [];
    for (const chunk of chunks) {
      if (chunk.type === 'text-start') parts.push('');
      if (chunk.type === 'text-delta') parts[parts.length - 1] += chunk.delta ?? '';
      if (chunk.type === 'tool-input-available') parts.push('(tool call)');
    }
    expect(parts).toEqual([
      'Looking the customer up.',
      '(tool call)',
      'Write to [REDACTED:email] about the pro plan.',
    ]);
  });
});
