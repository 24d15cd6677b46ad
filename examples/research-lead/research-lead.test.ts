import { describe, expect, it } from 'vitest';
import { type BatonEvent, createMemoryStore, createRuntime, type ToolContext } from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';
import { loadScript, type ModelScript, scriptedModel } from '../../src/testing/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const scriptFile = new URL('./script.yaml', import.meta.url);
const question =
  'How far have lithium-ion battery pack prices fallen since 2013, what drove it, and could sodium-ion be ' +
  'meaningfully cheaper by 2030? Give me a short brief with sources.';
const workers = ['web-researcher', 'paper-researcher', 'data-analyst'];

type ToolResult = Extract<BatonEvent, { type: 'tool-result' }>;

describe('research-lead example', () => {
  it('the lead delegates to three researchers at once, they use their tools, and the lead writes the brief', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    expect(team.pattern).toBe('supervisor');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const handle = await runtime.start(team.runnable, question);
    const brief = (await handle.result()) as string;

    expect(brief).toMatch(/^\*\*Brief: lithium-ion pack prices since 2013, and sodium-ion by 2030\*\*/);
    expect(brief).toContain('$780/kWh in 2013 to $115/kWh in 2024');
    expect(brief).toContain('Lindqvist, Obi and Marsh, 2024');

    expect(events.find((event) => event.type === 'pattern-start')).toMatchObject({
      pattern: 'supervisor',
      name: 'research-lead',
      members: ['lead', ...workers],
    });
    const delegations = events.flatMap((event) =>
      event.type === 'speaker-selected' ? [[event.round, event.speaker] as const] : [],
    );
    expect(delegations).toEqual([
      [1, 'web-researcher'],
      [2, 'paper-researcher'],
      [3, 'data-analyst'],
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'answered after 3 delegations',
    });

    // The three researchers ran at the same time: all started before the first one finished.
    const lifecycle = events.flatMap((event) =>
      (event.type === 'agent-start' || event.type === 'agent-end') && workers.includes(event.agent)
        ? [`${event.type === 'agent-start' ? 'start' : 'end'} ${event.agent}`]
        : [],
    );
    expect(lifecycle.slice(0, 3).sort()).toEqual(workers.map((worker) => `start ${worker}`).sort());

    const toolsUsed = events.flatMap((event) =>
      event.type === 'tool-call' && workers.includes(event.agent) ? [`${event.agent}:${event.tool}`] : [],
    );
    expect(toolsUsed.sort()).toEqual(
      [
        'data-analyst:query_dataset',
        'data-analyst:query_dataset',
        'paper-researcher:search_papers',
        'paper-researcher:search_papers',
        'web-researcher:search_web',
        'web-researcher:search_web',
      ].sort(),
    );

    // Each delegation is a child run journaled in the lead's scope.
    const journal = await runtime.journal(handle.runId);
    for (const worker of workers) {
      expect(journal.some((entry) => entry.kind === 'child' && entry.name === `run:${worker}`)).toBe(true);
    }
    await runtime.close();
  });

  it('hands the researchers their requests and the lead their findings', async () => {
    const model = scriptedModel(await loadScript(scriptFile));
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    await (await runtime.start(team.runnable, question)).result();
    const promptsOf = (agent: string) =>
      model.calls
        .filter((call) => call.providerOptions?.baton?.agent === agent)
        .map((call) => JSON.stringify(call.prompt));
    expect(promptsOf('data-analyst')[0]).toContain('From the pack_prices dataset, compute the change');
    expect(promptsOf('lead')[0]).toContain('How far have lithium-ion battery pack prices fallen since 2013');
    const leadTools = model.calls
      .find((call) => call.providerOptions?.baton?.agent === 'lead')
      ?.tools?.map((offered) => offered.name);
    expect(leadTools).toEqual(workers);
    const second = promptsOf('lead')[1] ?? '';
    expect(second).toContain('Findings from the web');
    expect(second).toContain('Relevant papers');
    expect(second).toContain('From pack_prices (2013-2024)');
    await runtime.close();
  });

  it('quotes the figures the data tool computes (the offline script agrees with the data)', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    await (await runtime.start(team.runnable, question)).result();
    const results = events.filter(
      (event): event is ToolResult => event.type === 'tool-result' && event.agent === 'data-analyst',
    );
    const stats = (results[0]!.output as { stats: Record<string, unknown> }).stats as {
      changePct: number;
      cagrPct: number;
      learningRatePct: number;
      doublings: number;
      yearsWithIncreases: Array<{ year: number; changePct: number }>;
    };
    const analysis = events.find(
      (event): event is Extract<BatonEvent, { type: 'agent-end' }> =>
        event.type === 'agent-end' && event.agent === 'data-analyst',
    )?.output as string;
    expect(analysis).toContain(`${stats.changePct}%`);
    expect(analysis).toContain(`${Math.abs(stats.cagrPct).toFixed(1)}% a year`);
    expect(analysis).toContain(`${stats.learningRatePct}% cheaper per doubling`);
    expect(analysis).toContain(`over ${stats.doublings} doublings`);
    expect(stats.yearsWithIncreases).toEqual([{ year: 2022, changePct: 7.3 }]);
    expect(analysis).toContain('+7.3% to $161/kWh');

    const rows = (
      results[1]!.output as { rows: Array<{ chemistry: string; scenario: string; usd_per_kwh: number }> }
    ).rows;
    const cost = (chemistry: string, scenario: string) =>
      rows.find((row) => row.chemistry === chemistry && row.scenario === scenario)!.usd_per_kwh;
    const highVolumeSaving = (1 - cost('sodium-ion', 'high volume') / cost('LFP', 'high volume')) * 100;
    expect(analysis).toContain(`${highVolumeSaving.toFixed(1)}% cheaper`);
    await runtime.close();
  });

  it('refuses delegations past maxDelegations and tells the lead to answer', async () => {
    const script: ModelScript = {
      lead: [
        {
          toolCalls: Array.from({ length: 7 }, (_, index) => ({
            tool: 'web-researcher',
            input: { input: `Search angle ${index + 1}` },
          })),
        },
        { text: 'Brief from the six answers I got.' },
      ],
      'web-researcher': [{ text: 'Nothing new.' }],
    };
    const model = scriptedModel(script);
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    expect(await (await runtime.start(team.runnable, question)).result()).toBe(
      'Brief from the six answers I got.',
    );
    const researcherRuns = events.filter(
      (event) => event.type === 'agent-start' && event.agent === 'web-researcher',
    );
    expect(researcherRuns).toHaveLength(6);
    const leadCalls = model.calls.filter((call) => call.providerOptions?.baton?.agent === 'lead');
    expect(JSON.stringify(leadCalls[1]?.prompt)).toContain(
      'Delegation refused: the limit of 6 delegations in this run is reached.',
    );
    expect(events.find((event) => event.type === 'pattern-decision')).toMatchObject({
      decision: 'delegation limit',
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'answered at the delegation limit',
    });
    await runtime.close();
  });

  it('ranks search results by the query and rejects unknown datasets', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const run = async (name: string, input: unknown) => team.tools.get(name)?.execute(input, context());
    const web = (await run('search_web', { query: 'sodium-ion cost outlook', limit: 1 })) as {
      results: Array<{ url: string }>;
    };
    expect(web.results.map((result) => result.url)).toEqual([
      'https://storagetoday.example/2025/05/sodium-ion-cost-outlook',
    ]);
    const papers = (await run('search_papers', { query: 'battery cost', yearFrom: 2024 })) as {
      results: Array<{ year: number }>;
    };
    expect(papers.results.length).toBeGreaterThan(0);
    expect(papers.results.every((paper) => paper.year >= 2024)).toBe(true);
    await expect(async () => run('query_dataset', { dataset: 'ev_sales' })).rejects.toThrow(
      /Unknown dataset "ev_sales". Datasets: pack_prices, cell_costs/,
    );
    await expect(async () =>
      run('query_dataset', { dataset: 'cell_costs', where: { price: 1 } }),
    ).rejects.toThrow(/cell_costs has no column "price"/);
  });
});

function context(): ToolContext {
  return {
    runId: 'test',
    agent: 'test',
    toolCallId: 'call',
    idempotencyKey: 'call',
    signal: new AbortController().signal,
  };
}
