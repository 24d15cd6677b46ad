/** GET /v1/runs's time, has-waits and search filters with exact paging; GET /v1/stats in time buckets; fork and replay over HTTP; GET /v1/evals. */

import { afterEach, describe, expect, it } from 'vitest';
import { dataset, runEval } from '../../src/evals/index.js';
import { createMemoryStore, type RunRecord, type Store, workflow } from '../../src/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { approval, call, greet, keyWith, readEvents, startServer } from './server-fixtures.js';

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

const nap = workflow({ name: 'nap' }, async (ctx) => {
  await ctx.sleep(3_600_000);
  return 'rested';
});

/** Waits for `go`, then sleeps for an hour: once answered it is asleep, waiting for no one. */
const nightcap = workflow({ name: 'nightcap' }, async (ctx) => {
  await ctx.waitFor('go');
  await ctx.sleep(3_600_000);
  return 'rested';
});

let answer = 'right';
const quiz = workflow({ name: 'quiz' }, async (ctx, input: string) =>
  ctx.step('answer', async () => `${input}: ${answer}`),
);

async function open(store: Store = createMemoryStore()) {
  const started = await startServer(store, { targets: [greet, approval, nap, nightcap, quiz] });
  stops.push(started.stop);
  const admin = await keyWith(store, ['admin']);
  return { ...started, store, url: started.server.url, admin };
}

const base = {
  targetVersion: '1',
  input: null,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  schemaVersion: 1,
};

/** Every page of `path` (limit 2), following nextCursor. */
async function allPages(url: string, path: string, key: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: Awaited<ReturnType<typeof call>> = await call(
      `${url}${path}${separator}limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
      { key },
    );
    expect(page.status).toBe(200);
    ids.push(...page.body.runs.map((run: RunRecord) => run.id));
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return ids;
}

describe('GET /v1/runs filters', () => {
  it('bounds runs by creation time (ms or ISO 8601), paging exactly across runs of one millisecond', async () => {
    const { url, store, admin } = await open();
    const times = [1000, 2000, 2000, 2000, 3000, 4000];
    for (const [index, createdAt] of times.entries())
      await store.createRun({
        ...base,
        id: `run_${index}`,
        target: 'greet',
        status: 'completed',
        createdAt,
        updatedAt: createdAt,
      });
    expect(await allPages(url, '/v1/runs?after=2000', admin)).toEqual([
      'run_5',
      'run_4',
      'run_3',
      'run_2',
      'run_1',
    ]);
    expect(await allPages(url, '/v1/runs?after=2000&before=3000', admin)).toEqual([
      'run_3',
      'run_2',
      'run_1',
    ]);
    expect(await allPages(url, '/v1/runs?before=2000', admin)).toEqual(['run_0']);
    const iso = new Date(3000).toISOString();
    expect(await allPages(url, `/v1/runs?after=${encodeURIComponent(iso)}`, admin)).toEqual([
      'run_5',
      'run_4',
    ]);
    const bad = await call(`${url}/v1/runs?after=yesterday-ish`, { key: admin });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(bad.body.error.issues[0].path).toEqual(['after']);
    expect(bad.body.error.message).toContain('is not a time');
  });

  it('lists only runs waiting for a person (waiting=1), not runs asleep or answered, across pages', async () => {
    const { url, runtime, admin } = await open();
    const waiting: string[] = [];
    for (let index = 0; index < 3; index++) {
      const started = await call(`${url}/v1/runs`, {
        key: admin,
        body: { target: 'approval', input: { amount: index } },
      });
      await waitForStatus(runtime, started.body.id, 'suspended');
      waiting.unshift(started.body.id);
      // A sleeping run between each: suspended too, but it waits for no one.
      const sleeping = await call(`${url}/v1/runs`, { key: admin, body: { target: 'nap' } });
      await waitForStatus(runtime, sleeping.body.id, 'suspended');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await allPages(url, '/v1/runs?waiting=1', admin)).toEqual(waiting);
    // Answered (the signal stored): no longer waiting for a person.
    await call(`${url}/v1/runs/${waiting[0]}/signal`, {
      key: admin,
      body: { name: 'approval', payload: { approved: true } },
    });
    await waitForStatus(runtime, waiting[0] as string, 'completed');
    expect(await allPages(url, '/v1/runs?waiting=1', admin)).toEqual(waiting.slice(1));
    expect((await call(`${url}/v1/runs?waiting=1&status=completed`, { key: admin })).body.runs).toEqual([]);
    expect((await call(`${url}/v1/runs?waiting=yes`, { key: admin })).status).toBe(400);
  });

  it('does not list a run that sleeps after its wait was answered: not in the inbox, not waiting=1', async () => {
    const { url, runtime, admin } = await open();
    const started = await call(`${url}/v1/runs`, { key: admin, body: { target: 'nightcap' } });
    const runId = started.body.id as string;
    await waitForStatus(runtime, runId, 'suspended');
    expect((await call(`${url}/v1/inbox?run=${runId}`, { key: admin })).body.requests).toMatchObject([
      { kind: 'signal', signal: 'go', answered: false },
    ]);
    await call(`${url}/v1/runs/${runId}/signal`, { key: admin, body: { name: 'go' } });
    // Asleep: suspended again, until an hour from now.
    await expect
      .poll(async () => {
        const run = await runtime.get(runId);
        return run.status === 'suspended' && (run.wakeAt ?? 0) > Date.now() + 60_000;
      })
      .toBe(true);
    expect((await call(`${url}/v1/inbox?run=${runId}`, { key: admin })).body.requests).toEqual([]);
    expect((await call(`${url}/v1/runs?waiting=1`, { key: admin })).body.runs).toEqual([]);
  });

  it('says which signals a suspended run waits for ([] while it only sleeps) in a run, the list and the change stream', async () => {
    const { url, runtime, admin } = await open();
    const started = await call(`${url}/v1/runs`, { key: admin, body: { target: 'nightcap' } });
    const runId = started.body.id as string;
    await waitForStatus(runtime, runId, 'suspended');
    expect((await call(`${url}/v1/runs/${runId}`, { key: admin })).body.waitingFor).toEqual(['go']);
    const live = readEvents(`${url}/v1/events?after=${started.body.updatedAt}`, {
      key: admin,
      stop: (events) => events.some((event) => event.data.runId === runId && event.data.wakeAt > 0),
    });
    await call(`${url}/v1/runs/${runId}/signal`, { key: admin, body: { name: 'go' } });
    const { events } = await live;
    const asleep = events.filter((event) => event.data.runId === runId).at(-1)?.data;
    expect(asleep).toMatchObject({ status: 'suspended', waitingFor: [] });
    const run = (await call(`${url}/v1/runs/${runId}`, { key: admin })).body;
    expect(run).toMatchObject({ status: 'suspended', waitingFor: [] });
    expect(run.wakeAt).toBeGreaterThan(Date.now() + 60_000);
    const done = await call(`${url}/v1/runs`, {
      key: admin,
      body: { target: 'greet', input: { name: 'Ada' } },
    });
    await waitForStatus(runtime, done.body.id, 'completed');
    const listed = (await call(`${url}/v1/runs`, { key: admin })).body.runs as RunRecord[];
    expect(
      listed.map((listedRun) => [listedRun.id, (listedRun as { waitingFor?: string[] }).waitingFor]),
    ).toEqual([
      [done.body.id, undefined],
      [runId, []],
    ]);
  });

  it('searches by run id, thread and target name (any case, part of it), with the other filters and paging', async () => {
    const { url, store, admin } = await open();
    const rows: Array<[string, string, string | undefined]> = [
      ['run_a', 'greet', 'order-7'],
      ['run_b', 'approval', 'order-7'],
      ['run_c', 'greet', undefined],
      ['run_d', 'nap', 'greet'],
      ['run_e', 'approval', undefined],
    ];
    for (const [index, [id, target, threadId]] of rows.entries())
      await store.createRun({
        ...base,
        id,
        target,
        status: index === 2 ? 'failed' : 'completed',
        createdAt: 1000 + index,
        updatedAt: 1000 + index,
        ...(threadId === undefined ? {} : { threadId }),
      });
    expect(await allPages(url, '/v1/runs?q=run_e', admin)).toEqual(['run_e']);
    expect(await allPages(url, '/v1/runs?q=order-7', admin)).toEqual(['run_b', 'run_a']);
    // "GRE" is part of the target greet; "greet" is also run_d's thread.
    expect(await allPages(url, '/v1/runs?q=GRE', admin)).toEqual(['run_c', 'run_a']);
    expect(await allPages(url, '/v1/runs?q=greet', admin)).toEqual(['run_d', 'run_c', 'run_a']);
    expect(await allPages(url, '/v1/runs?q=greet&status=failed', admin)).toEqual(['run_c']);
    expect(await allPages(url, '/v1/runs?q=order-7&target=approval', admin)).toEqual(['run_b']);
    expect(await allPages(url, '/v1/runs?q=nothing-like-it', admin)).toEqual([]);
    const limited = await keyWith(store, ['read'], ['approval']);
    expect(await allPages(url, '/v1/runs?q=order-7', limited)).toEqual(['run_b']);
  });
});

describe('GET /v1/stats in time buckets', () => {
  it('splits runs and calls into buckets, empty ones included; refuses a bad or too fine bucket', async () => {
    const { url, store, admin } = await open();
    const hour = 3_600_000;
    const now = Date.now();
    const thisHour = Math.floor(now / hour) * hour;
    const made: Array<[number, 'completed' | 'failed', number]> = [
      [thisHour - 2 * hour + 10, 'completed', 0.5],
      [thisHour - 2 * hour + 20, 'failed', 0.25],
      [thisHour + 1, 'completed', 1],
    ];
    for (const [index, [createdAt, status, costUsd]] of made.entries())
      await store.createRun({
        ...base,
        id: `run_${index}`,
        target: 'greet',
        status,
        costUsd,
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
        createdAt,
        updatedAt: createdAt + 100,
        endedAt: createdAt + 100 * (index + 1),
      });
    const answer = await call(`${url}/v1/stats?since=3h&bucket=1h`, { key: admin });
    expect(answer.status).toBe(200);
    expect(answer.body.bucketMs).toBe(hour);
    const buckets = answer.body.buckets as Array<{
      start: number;
      total: {
        count: number;
        costUsd: number;
        failed: number;
        errorRate: number | null;
        latencyP95Ms: number | null;
      };
    }>;
    expect(buckets.map((bucket) => bucket.start)).toEqual([
      thisHour - 3 * hour,
      thisHour - 2 * hour,
      thisHour - hour,
      thisHour,
    ]);
    expect(buckets.map((bucket) => bucket.total.count)).toEqual([0, 2, 0, 1]);
    expect(buckets[1]?.total).toMatchObject({ costUsd: 0.75, failed: 1, errorRate: 0.5, latencyP95Ms: 200 });
    expect(buckets[3]?.total).toMatchObject({ costUsd: 1, errorRate: 0, latencyP50Ms: 300 });
    expect(answer.body.total.count).toBe(3);
    const plain = await call(`${url}/v1/stats?since=3h`, { key: admin });
    expect(plain.body.buckets).toBeUndefined();
    const fine = await call(`${url}/v1/stats?since=30d&bucket=1m`, { key: admin });
    expect(fine).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(fine.body.error.message).toContain('at most 1000');
    expect((await call(`${url}/v1/stats?bucket=10s`, { key: admin })).body.error.issues[0].path).toEqual([
      'bucket',
    ]);
    expect((await call(`${url}/v1/stats?bucket=often`, { key: admin })).status).toBe(400);
  });
});

describe('fork and replay over HTTP', () => {
  it('forks a run from a step (run scope): the new run shares the steps before it and runs live from it', async () => {
    const { url, runtime, store, admin } = await open();
    const started = await call(`${url}/v1/runs`, {
      key: admin,
      body: { target: 'approval', input: { amount: 5 } },
    });
    await waitForStatus(runtime, started.body.id, 'suspended');
    await call(`${url}/v1/runs/${started.body.id}/signal`, {
      key: admin,
      body: { name: 'approval', payload: { approved: true } },
    });
    await waitForStatus(runtime, started.body.id, 'completed');
    const journal = (await call(`${url}/v1/runs/${started.body.id}/journal`, { key: admin })).body
      .entries as Array<{ key: string; name: string }>;
    const price = journal.find((entry) => entry.name === 'price');
    expect(price).toBeDefined();

    const runner = await keyWith(store, ['run']);
    const forked = await call(`${url}/v1/runs/${started.body.id}/fork`, {
      key: runner,
      body: { at: price?.key, input: { amount: 9 } },
    });
    expect(forked.status).toBe(201);
    expect(forked.headers.get('location')).toBe(`/v1/runs/${forked.body.id}`);
    expect(forked.body).toMatchObject({ target: 'approval', input: { amount: 9 } });
    expect(forked.body.id).not.toBe(started.body.id);
    await waitForStatus(runtime, forked.body.id, 'suspended');
    const steps = (await runtime.journal(forked.body.id)).map((entry) => [entry.name, entry.result]);
    // `check` is shared (recorded with amount 5); `price` and `reserve` ran live with amount 9.
    expect(steps.slice(0, 3)).toEqual([
      ['check', 'check 5'],
      ['price', 'price 9'],
      ['reserve', 'reserve 9'],
    ]);
    const position = journal.indexOf(price as (typeof journal)[number]) + 1;
    const origin = { runId: started.body.id, at: price?.key, step: position };
    expect(await runtime.forkOrigin(forked.body.id)).toEqual(origin);
    // The API says where it came from: in the 201 and in GET /v1/runs/:id; the original was not forked.
    expect(forked.body.forkedFrom).toEqual(origin);
    expect((await call(`${url}/v1/runs/${forked.body.id}`, { key: admin })).body.forkedFrom).toEqual(origin);
    expect((await call(`${url}/v1/runs/${started.body.id}`, { key: admin })).body).not.toHaveProperty(
      'forkedFrom',
    );
    // An origin recorded before positions were kept ({ runId, at }) gets its step from the origin's journal.
    await store.appendRecord('fork:run_older_fork', { runId: started.body.id, at: price?.key });
    await store.createRun({
      ...base,
      id: 'run_older_fork',
      target: 'approval',
      status: 'completed',
      createdAt: 1000,
      updatedAt: 1000,
    });
    expect((await call(`${url}/v1/runs/run_older_fork`, { key: admin })).body.forkedFrom).toEqual(origin);
  });

  it('refuses a fork without the run scope (403), of an unknown run (404), at a step the run lacks (400), with bad input (400)', async () => {
    const { url, runtime, store, admin } = await open();
    const started = await call(`${url}/v1/runs`, {
      key: admin,
      body: { target: 'greet', input: { name: 'Ada' } },
    });
    await waitForStatus(runtime, started.body.id, 'completed');
    const [entry] = await runtime.journal(started.body.id);
    const reader = await keyWith(store, ['read']);
    const refused = await call(`${url}/v1/runs/${started.body.id}/fork`, {
      key: reader,
      body: { at: entry?.key },
    });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(refused.body.error.message).toContain('scope "run"');
    const unknown = await call(`${url}/v1/runs/run_nope/fork`, { key: admin, body: { at: 'r#0' } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'RUN_NOT_FOUND' } } });
    const badAt = await call(`${url}/v1/runs/${started.body.id}/fork`, {
      key: admin,
      body: { at: 'r#99:nowhere' },
    });
    expect(badAt).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(badAt.body.error.issues).toEqual([
      { path: ['at'], message: expect.stringContaining(entry?.key as string) },
    ]);
    const noAt = await call(`${url}/v1/runs/${started.body.id}/fork`, { key: admin, body: {} });
    expect(noAt.body.error.issues[0].path).toEqual(['at']);
    const badInput = await call(`${url}/v1/runs/${started.body.id}/fork`, {
      key: admin,
      body: { at: entry?.key, input: { name: 42 } },
    });
    expect(badInput).toMatchObject({ status: 400, body: { error: { code: 'INVALID_INPUT' } } });
    const otherTarget = await keyWith(store, ['run'], ['approval']);
    expect(
      (await call(`${url}/v1/runs/${started.body.id}/fork`, { key: otherTarget, body: { at: entry?.key } }))
        .status,
    ).toBe(403);
    expect((await runtime.list({ limit: 10 })).length).toBe(1);
  });

  it('replays an ended run (identical), refuses a run still waiting (409) and a key without run (403)', async () => {
    const { url, runtime, store, admin } = await open();
    const done = await call(`${url}/v1/runs`, {
      key: admin,
      body: { target: 'greet', input: { name: 'Ada' } },
    });
    await waitForStatus(runtime, done.body.id, 'completed');
    const replayed = await call(`${url}/v1/runs/${done.body.id}/replay`, { key: admin, method: 'POST' });
    expect(replayed).toMatchObject({
      status: 200,
      body: { runId: done.body.id, identical: true, recorded: 1, replayed: 1 },
    });
    const open_ = await call(`${url}/v1/runs`, {
      key: admin,
      body: { target: 'approval', input: { amount: 1 } },
    });
    await waitForStatus(runtime, open_.body.id, 'suspended');
    const notEnded = await call(`${url}/v1/runs/${open_.body.id}/replay`, { key: admin, method: 'POST' });
    expect(notEnded).toMatchObject({ status: 409, body: { error: { code: 'RUN_NOT_ENDED' } } });
    const reader = await keyWith(store, ['read']);
    expect(
      (await call(`${url}/v1/runs/${done.body.id}/replay`, { key: reader, method: 'POST' })).status,
    ).toBe(403);
  });

  it('describes the new routes and filters in the OpenAPI document', async () => {
    const { url } = await open();
    const document = (await call(`${url}/openapi.json`)).body;
    expect(document.paths['/v1/runs/{id}/fork'].post['x-baton-scope']).toBe('run');
    expect(document.paths['/v1/runs/{id}/replay'].post['x-baton-scope']).toBe('run');
    expect(document.paths['/v1/evals'].get['x-baton-scope']).toBe('read');
    const listed = document.paths['/v1/runs'].get.parameters.map(
      (parameter: { name: string }) => parameter.name,
    );
    expect(listed).toEqual(expect.arrayContaining(['after', 'before', 'waiting', 'q']));
    const stats = document.paths['/v1/stats'].get.parameters.map(
      (parameter: { name: string }) => parameter.name,
    );
    expect(stats).toContain('bucket');
    const run = document.paths['/v1/runs/{id}'].get.responses['200'].content['application/json'].schema;
    expect(run.properties.waitingFor).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(Object.keys(run.properties.forkedFrom.properties)).toEqual(['runId', 'at', 'step']);
  });
});

describe('GET /v1/evals', () => {
  it("lists the served targets' stored evals, newest first, with the regression against the previous one", async () => {
    const { url, runtime, store, admin } = await open();
    const cases = dataset({ name: 'quiz-set', cases: [{ id: 'one', input: 'q1', contains: 'right' }] });
    answer = 'right';
    const first = await runEval({ runtime, target: quiz, dataset: cases });
    answer = 'wrong';
    const second = await runEval({ runtime, target: quiz, dataset: cases });
    const listed = await call(`${url}/v1/evals`, { key: admin });
    expect(listed.status).toBe(200);
    expect(listed.body.evals.map((report: { evalId: string }) => report.evalId)).toEqual([
      second.evalId,
      first.evalId,
    ]);
    expect(listed.body.evals[0]).toMatchObject({
      target: 'quiz',
      dataset: 'quiz-set',
      summary: { cases: 1, passed: 0, passRate: 0 },
      comparison: { previousEvalId: first.evalId, regressed: true, regressedCases: [{ id: 'one' }] },
    });
    expect(listed.body.evals[1].comparison).toBeNull();
    const greetOnly = await keyWith(store, ['read'], ['greet']);
    expect((await call(`${url}/v1/evals`, { key: greetOnly })).body.evals).toEqual([]);
    expect((await call(`${url}/v1/evals?target=quiz`, { key: greetOnly })).status).toBe(403);
    expect((await call(`${url}/v1/evals?target=nope`, { key: admin })).status).toBe(404);
  });
});
