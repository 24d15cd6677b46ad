import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/index.js';
import { parseDuration, runStats } from '../../src/observability/run-stats.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { sampleEntry, sampleRun, T } from '../../src/testing/store-conformance.js';
import { assertCliBuilt, offlineEnv, runBaton } from '../baton-cli.js';

const usage = (input: number, output: number) => ({
  inputTokens: input,
  outputTokens: output,
  totalTokens: input + output,
});

/** A store with four runs of two workflows: completed, failed (provider), failed (tool), suspended. */
async function sampleStore() {
  const store = createMemoryStore();
  await store.createRun(
    sampleRun({
      id: 'a',
      target: 'support',
      status: 'completed',
      createdAt: T,
      endedAt: T + 100,
      usage: usage(10, 5),
      costUsd: 0.01,
    }),
  );
  await store.appendJournal(
    sampleEntry('a', 'r#0', {
      kind: 'model',
      startedAt: T,
      endedAt: T + 40,
      result: { text: '', toolCalls: [{ toolCallId: 'c1', toolName: 'transfer_to_billing', input: '{}' }] },
      meta: { agent: 'triage', model: 'openai:gpt-4o-mini', usage: usage(6, 2), costUsd: 0.004 },
    }),
  );
  await store.appendJournal(
    sampleEntry('a', 'r#1', {
      kind: 'model',
      startedAt: T + 40,
      endedAt: T + 90,
      result: { text: 'done', toolCalls: [] },
      meta: { agent: 'billing', model: 'openai:gpt-4o-mini', usage: usage(4, 3), costUsd: 0.006 },
    }),
  );
  await store.createRun(
    sampleRun({
      id: 'b',
      target: 'support',
      status: 'failed',
      createdAt: T + 1,
      endedAt: T + 301,
      error: {
        name: 'ModelCallError',
        message: 'rate limited',
        code: 'MODEL_CALL_FAILED',
        fault: 'provider',
      },
    }),
  );
  await store.appendJournal(
    sampleEntry('b', 'r#0', {
      kind: 'model',
      status: 'failed',
      startedAt: T + 1,
      endedAt: T + 301,
      error: { name: 'ModelCallError', message: 'rate limited', fault: 'provider' },
      meta: { agent: 'triage', model: 'anthropic:claude-haiku' },
    }),
  );
  await store.createRun(
    sampleRun({
      id: 'c',
      target: 'report',
      status: 'failed',
      createdAt: T + 2,
      endedAt: T + 12,
      error: { name: 'ToolError', message: 'no such file', fault: 'tool' },
    }),
  );
  await store.appendJournal(
    sampleEntry('c', 'r#0', {
      kind: 'tool',
      status: 'failed',
      startedAt: T + 2,
      endedAt: T + 12,
      error: { name: 'ToolError', message: 'no such file', fault: 'tool' },
      meta: { tool: 'read_file' },
    }),
  );
  await store.createRun(sampleRun({ id: 'd', target: 'report', status: 'suspended', createdAt: T + 3 }));
  return store;
}

describe('runStats', () => {
  it('splits the figures into time buckets: runs by creation, calls by start, empty buckets included', async () => {
    const store = await sampleStore();
    const minute = 60_000;
    // One more run two minutes later, with a model call of its own.
    await store.createRun(
      sampleRun({
        id: 'e',
        target: 'support',
        status: 'completed',
        createdAt: T + 2 * minute,
        endedAt: T + 2 * minute + 50,
      }),
    );
    await store.appendJournal(
      sampleEntry('e', 'r#0', {
        kind: 'model',
        startedAt: T + 2 * minute,
        endedAt: T + 2 * minute + 30,
        meta: { agent: 'triage', model: 'openai:gpt-4o-mini', usage: usage(1, 1), costUsd: 0.001 },
      }),
    );
    const first = Math.floor(T / minute) * minute;
    const stats = await runStats(store, { by: 'model', bucketMs: minute, now: T + 2 * minute + 1 });
    expect(stats.bucketMs).toBe(minute);
    expect(stats.buckets?.map((bucket) => bucket.start)).toEqual([first, first + minute, first + 2 * minute]);
    expect(stats.buckets?.map((bucket) => bucket.total.count)).toEqual([4, 0, 1]);
    const last = stats.buckets?.[2];
    expect(last?.rows).toEqual([
      expect.objectContaining({ key: 'openai:gpt-4o-mini', count: 1, costUsd: 0.001 }),
    ]);
    // The buckets' calls add up to the rows over the whole window.
    const calls = (stats.buckets ?? [])
      .flatMap((bucket) => bucket.rows)
      .reduce((sum, row) => sum + row.count, 0);
    expect(calls).toBe(stats.rows.reduce((sum, row) => sum + row.count, 0));
    expect((await runStats(store)).buckets).toBeUndefined();
    await expect(runStats(store, { bucketMs: 10 })).rejects.toThrow(/bucketMs must be/);
    await expect(runStats(store, { bucketMs: 1000, now: T + 10_000_000 })).rejects.toThrow(/at most 1000/);
  });

  it('sums runs by workflow: completion and error rates by class, latency quantiles, tokens, cost, handoffs', async () => {
    const stats = await runStats(await sampleStore());
    expect(stats.total).toEqual({
      key: 'all',
      count: 4,
      ended: 3,
      completed: 1,
      failed: 2,
      completionRate: 1 / 3,
      latencyP50Ms: 100,
      latencyP95Ms: 300,
      inputTokens: 10,
      outputTokens: 5,
      costUsd: 0.01,
      errorRate: 2 / 3,
      errorsByClass: { provider: 1, tool: 1 },
      handoffs: 1,
      handoffSuccessRate: 1,
    });
    expect(
      stats.rows.map((row) => [row.key, row.count, row.completed, row.failed, row.latencyP50Ms]),
    ).toEqual([
      ['report', 2, 0, 1, 10],
      ['support', 2, 1, 1, 100],
    ]);
  });

  it('counts model calls by model and by agent, and tool calls by tool', async () => {
    const store = await sampleStore();
    const byModel = await runStats(store, { by: 'model' });
    expect(byModel.rows.map((row) => [row.key, row.count, row.failed, row.inputTokens, row.costUsd])).toEqual(
      [
        ['openai:gpt-4o-mini', 2, 0, 10, 0.01],
        ['anthropic:claude-haiku', 1, 1, 0, 0],
      ],
    );
    const byAgent = await runStats(store, { by: 'agent' });
    expect(byAgent.rows.map((row) => [row.key, row.count, row.handoffs, row.errorsByClass])).toEqual([
      ['triage', 2, 1, { provider: 1 }],
      ['billing', 1, 0, {}],
    ]);
    const byTool = await runStats(store, { by: 'tool' });
    expect(byTool.rows.map((row) => [row.key, row.count, row.errorRate, row.latencyP95Ms])).toEqual([
      ['read_file', 1, 1, 10],
    ]);
  });

  it('reads only runs created since the given time, across pages that split a millisecond', async () => {
    const store = createMemoryStore();
    // 1,200 runs, three per millisecond: pages of 500 end inside a millisecond.
    for (let index = 0; index < 1200; index++) {
      await store.createRun(
        sampleRun({ id: `r${String(index).padStart(4, '0')}`, createdAt: T + Math.floor(index / 3) }),
      );
    }
    expect((await runStats(store)).total.count).toBe(1200);
    expect((await runStats(store, { since: T + 100 })).total.count).toBe(1200 - 300);
  });

  it('parses --since durations and refuses others with what it accepts', async () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('1.5d')).toBe(129_600_000);
    expect(() => parseDuration('yesterday')).toThrow('use a number and a unit, s, m, h, d or w');
    await expect(runStats(createMemoryStore(), { by: 'team' as never })).rejects.toThrow(
      'by must be workflow, agent, model or tool',
    );
  });
});

describe('baton stats', () => {
  const folder = mkdtempSync(join(tmpdir(), 'baton-stats-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('prints the statistics of the demo runs, by workflow and by tool, and as JSON', async () => {
    assertCliBuilt();
    const store = join(folder, 'baton.db');
    const env = offlineEnv();
    for (let run = 0; run < 2; run++) {
      const result = runBaton(env, [
        'run',
        'examples/customer-support/team.yaml',
        'I was charged twice for order A-1001.',
        '--store',
        store,
      ]);
      expect(result.code).toBe(0);
    }
    const text = runBaton(env, ['stats', '--store', store]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Runs in the last 24h: 2');
    expect(text.stdout).toContain('completed 100.0% of ended runs (2 completed, 0 failed');
    expect(text.stdout).toContain('handoffs  2 (100.0% in runs that completed)');
    expect(text.stdout).toMatch(/^customer-support +2 +100\.0% /m);
    const byTool = runBaton(env, ['stats', '--store', store, '--by', 'tool']);
    expect(byTool.stdout).toMatch(/^lookup_order +2 +100\.0% /m);
    const json = runBaton(env, ['stats', '--store', store, '--by', 'model', '--json']);
    const parsed = JSON.parse(json.stdout) as {
      total: { count: number };
      rows: { key: string; count: number }[];
    };
    expect(parsed.total.count).toBe(2);
    expect(parsed.rows).toEqual([expect.objectContaining({ key: 'scripted:scripted', count: 8 })]);
    // The same reading through the store API.
    const opened = await createSqliteStore({ path: store });
    try {
      expect((await runStats(opened, { by: 'model' })).rows[0]?.count).toBe(8);
    } finally {
      await opened.close();
    }
    const bad = runBaton(env, ['stats', '--store', store, '--by', 'team']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--by must be one of workflow, agent, model, tool; got "team".');
  });
});
