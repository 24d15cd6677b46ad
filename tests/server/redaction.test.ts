/** The API sends content as the agents' guardrails left it: a redacted email never leaves the server, in a run, its journal or its live events, not even in the moment between a tool's result and the guardrail's decision on it. */

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent, createMemoryStore, guardrail, redactPii, type Store, tool } from '../../src/index.js';
import { scriptedModel, waitForStatus } from '../../src/testing/index.js';
import { call, keyWith, readEvents, startServer } from './server-fixtures.js';

const email = 'jane.doe@example.com';

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
    guardrails: [slowCheck, redactPii()],
    model: scriptedModel([
      { toolCalls: [{ tool: 'lookup_customer', input: { id: 'C-7' } }] },
      { text: `Write to ${email} about the pro plan.` },
    ]),
  });
}

let stop: (() => Promise<void>) | undefined;
let open = (): void => {};
afterEach(async () => {
  open();
  await stop?.();
  stop = undefined;
});

async function serve(store: Store, gate: Promise<void>) {
  const started = await startServer(store, { targets: [intake(gate)] });
  stop = started.stop;
  return started;
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
});
