import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  type Tool,
  type ToolContext,
} from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';
import { loadScript, scriptedModel } from '../../src/testing/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const scriptFile = new URL('./script.yaml', import.meta.url);
const question =
  'Should I buy Halvorsen Grid Systems (HGS) for a 12-month horizon? Give me a rating and the main risks.';
const analysts = ['fundamental', 'technical', 'sentiment', 'esg'];

type Call = (input: { ticker: string; limit?: number }) => Promise<Record<string, unknown>>;

/** Runs a tool of the loaded team directly, to compare the script's figures with the data. */
function caller(tools: ReadonlyMap<string, unknown>, name: string): Call {
  const found = tools.get(name) as Tool<{ ticker: string }, Record<string, unknown>> | undefined;
  if (found === undefined) throw new Error(`tools.ts should export the ${name} tool`);
  return async (input) => found.execute(input, context());
}

describe('stock-analysis example', () => {
  it('fans the question out to four analysts in parallel, each calls its tool on HGS, and synthesis gives the rating', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    expect(team.pattern).toBe('concurrent');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const handle = await runtime.start(team.runnable, question);
    const answer = (await handle.result()) as string;

    expect(answer.split('\n')[0]).toBe('HGS - 12-month rating: Hold (accumulate below about $56)');
    expect(answer).toContain('50.1x earnings');
    expect(answer).toContain('not personal financial advice');

    const start = events.find((event) => event.type === 'pattern-start');
    expect(start).toMatchObject({ pattern: 'concurrent', name: 'stock-analysis', members: analysts });

    // Every analyst called exactly its own tool, once, on HGS.
    const toolCalls = events.flatMap((event) =>
      event.type === 'tool-call' ? [{ agent: event.agent, tool: event.tool, input: event.input }] : [],
    );
    expect(toolCalls).toHaveLength(4);
    expect(new Map(toolCalls.map((call) => [call.agent, call.tool]))).toEqual(
      new Map([
        ['fundamental', 'get_financials'],
        ['technical', 'get_price_history'],
        ['sentiment', 'get_news'],
        ['esg', 'get_esg_scores'],
      ]),
    );
    for (const call of toolCalls) expect(call.input).toMatchObject({ ticker: 'HGS' });
    const failed = events.filter((event) => event.type === 'tool-result' && event.error !== undefined);
    expect(failed).toEqual([]);

    // The four analysts all started before any of them finished, and synthesis ran after all four.
    const order = events.flatMap((event) =>
      event.type === 'agent-start' || event.type === 'agent-end' ? [`${event.type} ${event.agent}`] : [],
    );
    const firstEnd = order.findIndex((entry) => entry.startsWith('agent-end'));
    expect(
      order
        .slice(0, firstEnd)
        .map((entry) => entry.replace('agent-start ', ''))
        .sort(),
    ).toEqual([...analysts].sort());
    const synthesisStart = order.indexOf('agent-start synthesis');
    for (const analyst of analysts)
      expect(order.indexOf(`agent-end ${analyst}`)).toBeLessThan(synthesisStart);

    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.kind === 'tool').map((entry) => entry.name)).toHaveLength(4);
    expect(
      journal.filter((entry) => entry.kind === 'model' && entry.meta?.agent === 'synthesis'),
    ).toHaveLength(1);
    await runtime.close();
  });

  it('hands the synthesis agent the question and all four analyst notes', async () => {
    const model = scriptedModel(await loadScript(scriptFile));
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    await (await runtime.start(team.runnable, question)).result();
    const synthesisCall = model.calls.find((call) => call.providerOptions?.baton?.agent === 'synthesis');
    const prompt = JSON.stringify(synthesisCall?.prompt);
    expect(prompt).toContain('Should I buy Halvorsen Grid Systems (HGS)');
    for (const analyst of analysts) expect(prompt).toContain(`## ${analyst}`);
    expect(prompt).toContain('Fundamental stance: Hold');
    expect(prompt).toContain('ESG: Leader');
    await runtime.close();
  });

  it('quotes the figures the tools compute (the offline script agrees with the data)', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const script = await loadScript(scriptFile);
    const said = (agent: string): string =>
      (script as Record<string, Array<{ text?: string }>>)[agent]?.at(-1)?.text ?? '';

    const financials = await caller(team.tools, 'get_financials')({ ticker: 'HGS' });
    const valuation = financials.valuation as Record<string, number>;
    expect(said('fundamental')).toContain(`$${valuation.price}`);
    expect(said('fundamental')).toContain(`P/E ${valuation.peRatio}`);
    expect(said('fundamental')).toContain(`EV/EBITDA ${valuation.evToEbitda}`);
    expect(said('fundamental')).toContain(`${financials.revenueCagrPct}% CAGR`);
    expect(said('fundamental')).toContain(`${financials.netDebtToEbitda}x EBITDA`);

    const prices = await caller(team.tools, 'get_price_history')({ ticker: 'HGS' });
    expect(said('technical')).toContain(`50-day ($${prices.sma50})`);
    expect(said('technical')).toContain(`200-day ($${prices.sma200})`);
    expect(said('technical')).toContain(`RSI is ${(prices.rsi14 as number).toFixed(1)}`);
    expect(said('technical')).toContain(`$${prices.low52Week}-$${prices.high52Week}`);
    expect(said('technical')).toContain(`${prices.maxDrawdownPct}%`);

    const news = await caller(team.tools, 'get_news')({ ticker: 'HGS', limit: 10 });
    expect(news).toMatchObject({ positive: 4, negative: 2 });
    expect(said('sentiment')).toContain(`+${news.averageScore}`);

    const esg = await caller(team.tools, 'get_esg_scores')({ ticker: 'HGS' });
    expect(said('esg')).toContain(`composite ${esg.composite}`);
    expect(said('esg')).toContain(`rank ${esg.peerRank}`);
    expect(said('esg')).toContain(`${esg.peerPercentile}th percentile`);
  });

  it('computes indicators from the price series and rejects unknown tickers', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const module = team.toolsModule as { closes: (ticker: string) => Array<{ close: number }> };
    const series = module.closes('VLTA').map((point) => point.close);
    const prices = await caller(team.tools, 'get_price_history')({ ticker: 'vlta' });
    const last50 = series.slice(-50);
    expect(prices.sma50).toBeCloseTo(last50.reduce((sum, value) => sum + value, 0) / 50, 2);
    expect(prices.lastClose).toBe(series.at(-1));
    expect(prices.high52Week).toBe(Math.max(...series.slice(-252)));
    await expect(caller(team.tools, 'get_financials')({ ticker: 'ACME' })).rejects.toThrow(
      /Unknown ticker "ACME". Covered tickers: HGS, VLTA, CRNM/,
    );
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

describe('stock-analysis from the CLI (built)', () => {
  const repo = join(import.meta.dirname, '..', '..');
  const main = join(repo, 'dist', 'cli', 'main.js');
  const scratch = mkdtempSync(join(tmpdir(), 'baton-stock-'));
  const store = join(scratch, 'runs.db');
  /** No model credentials, so the team runs offline on its script. */
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY', 'BATON_MODEL']) {
    delete env[key];
  }
  const baton = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { cwd: repo, env, encoding: 'utf8', timeout: 60_000 });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('baton run shows the fan-out, the tool calls and the rating; baton show lists every step', () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first.`);
    const run = baton('run', 'examples/stock-analysis/team.yaml', question, '--store', store);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toContain(
      'running offline on scripted responses from examples/stock-analysis/script.yaml',
    );
    for (const expected of [
      '▸ concurrent "stock-analysis" with fundamental, technical, sentiment, esg',
      '→ get_financials {"ticker":"HGS"}',
      '→ get_price_history {"ticker":"HGS"}',
      '→ get_news {"ticker":"HGS","limit":10}',
      '→ get_esg_scores {"ticker":"HGS"}',
      '● synthesis',
      '✔ Completed',
      'Answer\n  HGS - 12-month rating: Hold (accumulate below about $56)',
    ]) {
      expect(run.stdout).toContain(expected);
    }
    const runId = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(run.stdout)?.[1];
    expect(runId).toBeDefined();

    const show = baton('show', runId as string, '--store', store);
    expect(show.status).toBe(0);
    const steps = show.stdout.slice(show.stdout.indexOf('Steps'));
    // One parallel branch per analyst (its model, tool and model steps), then the synthesis run.
    for (const [analyst, tool] of [
      ['fundamental', 'get_financials'],
      ['technical', 'get_price_history'],
      ['sentiment', 'get_news'],
      ['esg', 'get_esg_scores'],
    ]) {
      expect(steps).toMatch(
        new RegExp(`run:${analyst} .*\\n.*model:${analyst} .*\\n.*tool:${tool} .*\\n.*model:${analyst} `),
      );
    }
    expect(steps).toMatch(/run:synthesis .*\n.*model:synthesis /);
    expect(steps.indexOf('run:synthesis')).toBeGreaterThan(steps.indexOf('run:esg'));
  });
});
