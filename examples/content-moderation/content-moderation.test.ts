import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BatonEvent, createMemoryStore, createRuntime, type ToolContext } from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';
import { type ModelScript, scriptedModel } from '../../src/testing/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const post =
  'Selling my iPhone 13 (128 GB, barely used) for $380. Skip the fees here: DM me or text 415-555-0139, ' +
  'or email jake.miller84@gmail.com. More cheap phones at bit.ly/ph0ne-deals!!!';
const review =
  "Bought a 'like new' Pixel 7 from mark_t and it arrived with a cracked screen. He's a total idiot or a " +
  'scammer, not sure which. Avoid.';
const checkers = ['toxicity', 'spam', 'pii', 'policy'];

interface Decision {
  decision: 'allow' | 'review' | 'remove';
  reason?: string;
}
interface VoteResult {
  winner: Decision;
  votes: Array<{ value: Decision; weight: number; units: string[] }>;
  consistency: number;
}
type Decided = Extract<BatonEvent, { type: 'pattern-decision' }>;
type ToolResult = Extract<BatonEvent, { type: 'tool-result' }>;

describe('content-moderation example', () => {
  it('four checkers judge the post in parallel with their tools; the vote removes it with agreement 0.75', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const result = (await (await runtime.start(team.runnable, post)).result()) as VoteResult;

    expect(result.winner).toEqual({ decision: 'remove' });
    expect(result.consistency).toBe(0.75);
    expect(result.votes.map(({ value, weight, units }) => ({ value, weight, units }))).toEqual([
      { value: { decision: 'remove' }, weight: 3, units: ['spam', 'pii', 'policy'] },
      { value: { decision: 'allow' }, weight: 1, units: ['toxicity'] },
    ]);

    expect(events.find((event) => event.type === 'pattern-start')).toMatchObject({
      pattern: 'concurrent',
      members: checkers,
    });
    const decision = events.find((event): event is Decided => event.type === 'pattern-decision');
    expect(decision?.decision).toBe('vote');
    expect(decision?.reasons).toEqual([
      '"{\\"decision\\":\\"remove\\"}" got 3 of 4 votes (spam, pii, policy)',
      'consistency 0.75 by agreement is at or above minConsistency 0.6',
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'voted' });
    expect(events.some((event) => event.type === 'agent-start' && event.agent === 'senior-moderator')).toBe(
      false,
    );

    // Each checker ran its own tool on the post, and its decision follows from what the tool found.
    const results = new Map(
      events
        .filter((event): event is ToolResult => event.type === 'tool-result')
        .map((event) => [event.agent, { tool: event.tool, output: event.output as Record<string, unknown> }]),
    );
    expect([...results.entries()].map(([agent, { tool }]) => `${agent}:${tool}`).sort()).toEqual([
      'pii:detect_pii',
      'policy:lookup_policy',
      'spam:check_spam_signals',
      'toxicity:score_toxicity',
    ]);
    for (const event of events) {
      if (event.type !== 'tool-call') continue;
      expect(event.input).toEqual(
        event.tool === 'lookup_policy'
          ? { topic: 'off-platform sales, contact outside the marketplace' }
          : { text: post },
      );
    }
    expect(results.get('toxicity')?.output).toMatchObject({ score: 0, level: 'none' });
    expect(results.get('spam')?.output).toMatchObject({ likelySpam: true, links: ['bit.ly/ph0ne-deals'] });
    expect(results.get('pii')?.output).toMatchObject({ found: true, types: ['phone', 'email'] });
    const rules = (results.get('policy')!.output as { rules: Array<{ id: string; action: string }> }).rules;
    expect(rules[0]).toMatchObject({ id: '3.1', action: 'remove' });
    await runtime.close();
  });

  it('sends a split vote to the senior moderator, whose decision becomes the output', async () => {
    const script: ModelScript = {
      toxicity: [
        { toolCalls: [{ tool: 'score_toxicity', input: { text: review } }] },
        { text: '{"decision": "review"}' },
      ],
      spam: [
        { toolCalls: [{ tool: 'check_spam_signals', input: { text: review } }] },
        { text: '{"decision": "allow"}' },
      ],
      pii: [
        { toolCalls: [{ tool: 'detect_pii', input: { text: review } }] },
        { text: '{"decision": "allow"}' },
      ],
      policy: [
        { toolCalls: [{ tool: 'lookup_policy', input: { topic: 'seller review with insults' } }] },
        { text: '{"decision": "review"}' },
      ],
      'senior-moderator': [
        {
          text: '{"decision": "review", "reason": "A negative seller review is allowed (6.1), but calling the seller an idiot or a scammer is an insult aimed at a member (2.1): a person should ask the author to edit it."}',
        },
      ],
    };
    const model = scriptedModel(script);
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const result = (await (await runtime.start(team.runnable, review)).result()) as Decision;

    expect(result.decision).toBe('review');
    expect(result.reason).toContain('(2.1)');
    const decision = events.find((event): event is Decided => event.type === 'pattern-decision');
    expect(decision?.decision).toBe('low-consistency');
    expect(decision?.reasons).toEqual([
      '"{\\"decision\\":\\"review\\"}" got 2 of 4 votes (toxicity, policy)',
      'consistency 0.5 by agreement is below minConsistency 0.6',
      'rerouted to senior-moderator',
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'low consistency: senior-moderator',
    });
    // The tools agree with the scripted decisions: an insult, no spam, no personal data.
    const outputs = new Map(
      events
        .filter((event): event is ToolResult => event.type === 'tool-result')
        .map((event) => [event.agent, event.output as Record<string, unknown>]),
    );
    expect(outputs.get('toxicity')).toMatchObject({ level: 'medium', categories: ['insult'] });
    expect(outputs.get('spam')).toMatchObject({ likelySpam: false });
    expect(outputs.get('pii')).toMatchObject({ found: false });
    // The senior moderator saw the post and every checker's decision.
    const seniorPrompt = JSON.stringify(
      model.calls.find((call) => call.providerOptions?.baton?.agent === 'senior-moderator')?.prompt,
    );
    expect(seniorPrompt).toContain('cracked screen');
    for (const checker of checkers) expect(seniorPrompt).toContain(`## ${checker}`);
    await runtime.close();
  });

  it('detects personal data with checksums and spam signals without confusing emails for links', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const run = async (name: string, text: string) =>
      (await team.tools.get(name)?.execute({ text }, context())) as Record<string, unknown>;
    expect(
      await run(
        'detect_pii',
        'Card 4111 1111 1111 1111, not 4111 1111 1111 1112; IBAN DE89 3704 0044 0532 0130 00.',
      ),
    ).toMatchObject({
      types: ['payment-card', 'iban'],
      findings: [
        { type: 'payment-card', value: '4111********1111' },
        { type: 'iban', value: 'DE89**************3000' },
      ],
    });
    expect(await run('detect_pii', 'A great seller, fast shipping.')).toMatchObject({ found: false });
    expect(await run('check_spam_signals', 'Write to anna.berg@example.com about the bike.')).toMatchObject({
      links: [],
      likelySpam: false,
    });
    expect(await run('score_toxicity', "Shut up, I'll find where you live")).toMatchObject({
      level: 'high',
      categories: ['harassment', 'threat'],
    });
  });
});

describe('content-moderation from the CLI (built)', () => {
  const repo = join(import.meta.dirname, '..', '..');
  const main = join(repo, 'dist', 'cli', 'main.js');
  const scratch = mkdtempSync(join(tmpdir(), 'baton-moderation-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('baton run --offline prints the checkers, their tool calls, the vote and the result', () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first.`);
    const result = spawnSync(
      process.execPath,
      [
        main,
        'run',
        'examples/content-moderation/team.yaml',
        post,
        '--offline',
        '--store',
        join(scratch, 'runs.db'),
      ],
      { cwd: repo, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const expected of [
      '▸ concurrent "content-moderation" with toxicity, spam, pii, policy',
      '→ score_toxicity {"text":"Selling my iPhone 13',
      '→ check_spam_signals',
      '→ detect_pii',
      '→ lookup_policy {"topic":"off-platform sales, contact outside the marketplace"}',
      '✔ Completed',
    ]) {
      expect(result.stdout).toContain(expected);
    }
    const answer = result.stdout.slice(result.stdout.indexOf('Answer'));
    expect(answer).toContain('"winner"');
    expect(answer).toContain('"consistency": 0.75');
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
