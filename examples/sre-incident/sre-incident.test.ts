import { describe, expect, it } from 'vitest';
import { type BatonEvent, createMemoryStore, createRuntime, type ToolContext } from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const page =
  'PagerDuty SEV-2: checkout-api 5xx error rate above 10% since 14:05 UTC, p99 latency 30 s. ' +
  'Customers cannot complete checkout. Find the root cause and fix it.';

interface MagenticResult {
  answer: string;
  stoppedBy: string;
  rounds: number;
  resets: number;
  stalls: number;
  taskLedger: { facts: { given: string[]; guesses: string[] }; plan: string[] };
  progress: Array<{ requestSatisfied: { answer: boolean }; nextSpeaker: { answer: string } }>;
}

interface ToolsModule {
  history: () => { now: string; actions: Array<{ kind: string; version: string; at: string }> };
  resetEnvironment: () => void;
}

type Ledger = Extract<BatonEvent, { type: 'ledger-update' }>;
type ToolResult = Extract<BatonEvent, { type: 'tool-result' }>;
type Series = Record<string, { points: Array<[string, number]> }>;

async function runIncident() {
  const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  const handle = await runtime.start(team.runnable, page);
  const result = (await handle.result()) as MagenticResult;
  const journal = await runtime.journal(handle.runId);
  await runtime.close();
  return { team, events, result, journal };
}

describe('sre-incident example', () => {
  it('plans, stalls on a restart that does not hold, replans, rolls back the bad deploy and reports the root cause', async () => {
    const { team, events, result } = await runIncident();
    expect(team.offline).toBe(true);
    expect(team.pattern).toBe('magentic');

    expect(result).toMatchObject({ stoppedBy: 'satisfied', rounds: 10, resets: 1, stalls: 2 });
    expect(result.answer).toMatch(/^INCIDENT SUMMARY - checkout-api/);
    expect(result.answer).toContain('lower(customer_email)');
    expect(result.answer).toContain('rolled back to v2.13.4 (serving 14:40');

    // The remediations really happened in the simulated environment, in this order.
    const { actions } = (team.toolsModule as unknown as ToolsModule).history();
    expect(actions.filter((action) => action.kind !== 'deploy')).toEqual([
      expect.objectContaining({ kind: 'restart', version: 'v2.14.0', at: '14:25' }),
      expect.objectContaining({ kind: 'rollback', version: 'v2.13.4', at: '14:40' }),
    ]);

    // Two task ledgers: the first plan (pool exhaustion guessed), then the replan after the stall.
    const ledgers = events.filter((event): event is Ledger => event.type === 'ledger-update');
    const tasks = ledgers.filter((ledger) => ledger.ledger === 'task');
    expect(tasks.map((task) => [task.round, (task.data as { reason: string }).reason])).toEqual([
      [0, 'initial'],
      [5, 'replan'],
    ]);
    const replanned = tasks[1]?.data as { facts: { given: string[] }; plan: string[] };
    expect(replanned.facts.given.join(' ')).toContain('Restarting checkout-api at 14:25 emptied the pool');
    expect(replanned.plan[0]).toMatch(/^metrics-analyst: deploy markers/);
    expect(result.taskLedger.plan).toEqual(replanned.plan);

    // Ten progress ledgers; rounds 4 and 5 are the stall, and the reset comes right after round 5.
    const progress = ledgers.filter((ledger) => ledger.ledger === 'progress');
    expect(progress.map((ledger) => ledger.round)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const stalled = progress
      .map((ledger) => ledger.data as { inLoop: { answer: boolean }; progressBeingMade: { answer: boolean } })
      .flatMap((data, index) => (data.inLoop.answer || !data.progressBeingMade.answer ? [index + 1] : []));
    expect(stalled).toEqual([4, 5]);
    const reset = events.find((event) => event.type === 'pattern-decision');
    expect(reset).toMatchObject({ decision: 'reset', data: { round: 5, resets: 1 } });
    expect(events.indexOf(reset as BatonEvent)).toBeLessThan(events.indexOf(tasks[1] as BatonEvent));

    const speakers = events.flatMap((event) => (event.type === 'speaker-selected' ? [event.speaker] : []));
    expect(speakers).toEqual([
      'log-analyst',
      'runbook-executor',
      'metrics-analyst',
      'log-analyst',
      // round 5 resets instead of speaking
      'metrics-analyst',
      'log-analyst',
      'runbook-executor',
      'metrics-analyst',
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'satisfied' });
    const calls = events.flatMap((event) => (event.type === 'tool-call' ? [event.tool] : []));
    expect(calls).toEqual([
      'query_logs',
      'get_runbook',
      'restart_service',
      'query_metrics',
      'query_logs',
      'query_metrics',
      'query_logs',
      'get_runbook',
      'rollback_deploy',
      'query_metrics',
    ]);
  });

  it('journals the ledgers between the model and tool steps, in the pattern scope', async () => {
    const { journal } = await runIncident();
    const names = journal.map((entry) => entry.name);
    expect(names.filter((name) => name === 'ledger:task')).toHaveLength(2);
    expect(names.filter((name) => name === 'ledger:progress')).toHaveLength(10);
    expect(names.filter((name) => name === 'decision:magentic')).toHaveLength(1);
    const task = journal.find((entry) => entry.name === 'ledger:task');
    expect(task?.meta).toMatchObject({ ledger: 'task', pattern: 'magentic', round: 0 });
    expect(names.at(-1)).toBe('model:incident-commander');
    expect(names.slice(names.indexOf('decision:magentic'), names.indexOf('decision:magentic') + 3)).toEqual([
      'decision:magentic',
      'model:incident-commander',
      'ledger:task',
    ]);
  });

  it('has the analysts quote the figures the tools returned (the offline script agrees with the data)', async () => {
    const { events } = await runIncident();
    const results = events.filter((event): event is ToolResult => event.type === 'tool-result');
    const replies = replyTexts(events);

    // Every "<value>% at HH:MM" and "<value> ms at HH:MM" the metrics analyst wrote is in the series it queried.
    const metricResults = results.filter((result) => result.tool === 'query_metrics');
    const metricReplies = replies.get('metrics-analyst') ?? [];
    expect(metricReplies).toHaveLength(3);
    let checked = 0;
    for (const [index, reply] of metricReplies.entries()) {
      const series = (metricResults[index]!.output as { series: Series }).series;
      for (const match of reply.matchAll(/([\d,.]+)(%| ms) at (\d\d:\d\d)/g)) {
        const value = Number(match[1]?.replace(/,/g, ''));
        const found = Object.entries(series).some(
          ([name, { points }]) =>
            (match[2] === '%' ? name === 'error_rate' : name.endsWith('_ms')) &&
            points.some(([minute, point]) => minute === match[3] && point === value),
        );
        expect(found, `${match[0]} in reply ${index + 1} of metrics-analyst`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);

    // The log analyst's counts are the tool's counts.
    const logResults = results
      .filter((result) => result.tool === 'query_logs')
      .map(
        (result) =>
          result.output as { matched: number; patterns: Array<{ count: number; firstSeen: string }> },
      );
    const logReplies = replies.get('log-analyst') ?? [];
    expect(logReplies[0]).toContain(
      `${logResults[0]?.patterns[0]?.count.toLocaleString('en-US')} lines each`,
    );
    expect(logReplies[0]).toContain(`first seen at ${logResults[0]?.patterns[0]?.firstSeen}`);
    expect(logReplies[1]).toContain(logResults[1]?.matched.toLocaleString('en-US'));
    expect(logReplies[2]).toContain(
      `${logResults[2]?.matched.toLocaleString('en-US')} "Slow query" warnings`,
    );
    expect(logReplies[2]).toContain(`first seen at ${logResults[2]?.patterns[0]?.firstSeen}`);

    const rollback = results.find((result) => result.tool === 'rollback_deploy')?.output as {
      servingSince: string;
      rolloutFinished: string;
    };
    const executor = replies.get('runbook-executor') ?? [];
    expect(executor[1]).toContain(`serving since ${rollback.servingSince}`);
    expect(executor[1]).toContain(`finished at ${rollback.rolloutFinished}`);
  });

  it('simulates the outage: restarts only relieve it for a minute, the rollback fixes it, bad inputs are refused', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const tools = team.tools;
    const call = async (name: string, input: unknown, key = name): Promise<Record<string, unknown>> =>
      (await tools.get(name)?.execute(input, context(key))) as Record<string, unknown>;
    const errorRate = async (sinceMinutes: number) =>
      (
        (await call('query_metrics', { service: 'checkout-api', metrics: ['error_rate'], sinceMinutes })) as {
          series: { error_rate: { last: number; points: Array<[string, number]> } };
        }
      ).series.error_rate;

    expect((await errorRate(5)).last).toBeGreaterThan(10);
    await call('restart_service', { service: 'checkout-api', reason: 'test' }, 'restart-1');
    // The same call retried (same idempotency key) does not restart twice.
    await call('restart_service', { service: 'checkout-api', reason: 'test' }, 'restart-1');
    const afterRestart = await errorRate(8);
    expect(Math.min(...afterRestart.points.map(([, value]) => value))).toBeLessThan(1);
    expect(afterRestart.last).toBeGreaterThan(3);
    await expect(
      call('rollback_deploy', { service: 'checkout-api', toVersion: 'v9.9.9', reason: 'test' }),
    ).rejects.toThrow(/never deployed to checkout-api; deployed versions: v2.13.3, v2.13.4, v2.14.0/);
    await expect(call('query_logs', { service: 'payments' })).rejects.toThrow(/Unknown service "payments"/);
    await call('rollback_deploy', { service: 'checkout-api', toVersion: 'v2.13.4', reason: 'test' });
    expect((await errorRate(3)).last).toBeLessThan(1);
    const module = team.toolsModule as unknown as ToolsModule;
    expect(module.history().actions.filter((action) => action.kind === 'restart')).toHaveLength(1);
    module.resetEnvironment();
    expect(module.history().now).toBe('14:20');
  });
});

/** Each member's replies (its final text per turn), in order. */
function replyTexts(events: readonly BatonEvent[]): Map<string, string[]> {
  const replies = new Map<string, string[]>();
  for (const event of events) {
    if (event.type !== 'agent-end' || typeof event.output !== 'string') continue;
    replies.set(event.agent, [...(replies.get(event.agent) ?? []), event.output]);
  }
  return replies;
}

function context(key: string): ToolContext {
  return {
    runId: 'test',
    agent: 'runbook-executor',
    toolCallId: key,
    idempotencyKey: key,
    signal: new AbortController().signal,
  };
}
