import { describe, expect, it } from 'vitest';
import { type BatonEvent, createMemoryStore, createRuntime } from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';
import { loadScript, scriptedModel } from '../../src/testing/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const scriptFile = new URL('./script.yaml', import.meta.url);
const brief =
  'Write the customer email announcing the Tallyboard Pro price change: $12 to $15 per month from 1 March 2027. ' +
  'Customers on yearly billing keep their current price until their next renewal. Monthly customers who switch to ' +
  'yearly billing before 1 March keep $12 a month for their first year. Why: last year we added unlimited ' +
  'projects and priority support, and hosting costs went up. Billing page: https://tallyboard.app/billing. ' +
  'Sign it from Maya Chen, Head of Customer Success.';

interface Analysis {
  words: number;
  fleschReadingEase: number;
  hypeWords: string[];
  prices: string[];
  dates: string[];
  links: string[];
}
type Decided = Extract<BatonEvent, { type: 'pattern-decision' }>;
type ToolResult = Extract<BatonEvent, { type: 'tool-result' }>;

describe('draft-review-polish example', () => {
  it('the editor rejects the first draft, approves the revision, and the polisher finishes it', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    expect(team.pattern).toBe('sequential');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const handle = await runtime.start(team.runnable, brief);
    const email = (await handle.result()) as string;

    expect(email.split('\n')[0]).toBe('Subject: Tallyboard Pro will cost $15 a month from 1 March 2027');
    expect(email).toContain('https://tallyboard.app/billing');
    expect(email.trimEnd()).toMatch(/Maya Chen\nHead of Customer Success, Tallyboard$/);

    // A sequential pipeline whose first stage is the nested makerChecker team.
    const starts = events.filter((event) => event.type === 'pattern-start');
    expect(starts).toEqual([
      expect.objectContaining({
        pattern: 'sequential',
        name: 'draft-review-polish',
        members: ['draft-and-review', 'polisher'],
      }),
      expect.objectContaining({
        pattern: 'makerChecker',
        name: 'draft-and-review',
        members: ['writer', 'editor'],
      }),
    ]);
    const turns = events.flatMap((event) =>
      event.type === 'speaker-selected' ? [`${event.round} ${event.speaker} ${event.reason}`] : [],
    );
    expect(turns).toEqual(['1 writer propose', '1 editor check', '2 writer revise', '2 editor check']);
    const verdicts = events.filter((event): event is Decided => event.type === 'pattern-decision');
    expect(verdicts.map((verdict) => [verdict.decision, verdict.data])).toEqual([
      ['rejected', { round: 1, approved: false, parsedAs: 'json' }],
      ['approved', { round: 2, approved: true, parsedAs: 'json' }],
    ]);
    expect(verdicts[0]?.reasons[0]).toContain('criterion 2');
    const ends = events.flatMap((event) =>
      event.type === 'pattern-end' ? [`${event.name}: ${event.outcome}`] : [],
    );
    expect(ends).toEqual(['draft-and-review: approved', 'draft-review-polish: completed']);

    // The polisher starts only after the approval.
    const order = events.flatMap((event) => (event.type === 'agent-start' ? [event.agent] : []));
    expect(order).toEqual(['writer', 'editor', 'writer', 'editor', 'polisher']);

    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.name === 'decision:makerChecker')).toHaveLength(2);
    expect(journal.filter((entry) => entry.kind === 'child').map((entry) => entry.name)).toEqual([
      'run:draft-and-review',
      'run:polisher',
    ]);
    await runtime.close();
  });

  it('measures every draft with analyze_text, and the verdicts match the measurements', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    await (await runtime.start(team.runnable, brief)).result();

    const analyses = events
      .filter((event): event is ToolResult => event.type === 'tool-result' && event.tool === 'analyze_text')
      .map((event) => ({ agent: event.agent, ...(event.output as Analysis) }));
    expect(analyses.map((analysis) => analysis.agent)).toEqual(['editor', 'editor', 'polisher']);
    const [first, second, final] = analyses;
    // Draft 1 fails: hype words, no link.
    expect(first).toMatchObject({ hypeWords: ['exciting', 'thrilled'], links: [] });
    // Draft 2 and the final email pass every measurable criterion.
    for (const passing of [second, final]) {
      expect(passing?.hypeWords).toEqual([]);
      expect(passing?.words).toBeLessThanOrEqual(170);
      expect(passing?.fleschReadingEase).toBeGreaterThanOrEqual(60);
      expect(passing?.prices).toEqual(expect.arrayContaining(['$12', '$15']));
      expect(passing?.dates).toContain('1 March 2027');
      expect(passing?.links).toEqual(['https://tallyboard.app/billing']);
    }
    // The figures the editor quotes are the measured ones.
    const verdicts = events.filter((event): event is Decided => event.type === 'pattern-decision');
    expect(verdicts[0]?.reasons[0]).toContain(
      `Length (${first?.words} words) and reading ease (${first?.fleschReadingEase})`,
    );
    expect(verdicts[1]?.reasons[0]).toContain(
      `${second?.words} words and a reading ease of ${second?.fleschReadingEase}`,
    );
    await runtime.close();
  });

  it('passes the feedback and criteria to the writer, and the approved result to the polisher', async () => {
    const model = scriptedModel(await loadScript(scriptFile));
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    await (await runtime.start(team.runnable, brief)).result();
    const prompts = (agent: string) =>
      model.calls
        .filter((call) => call.providerOptions?.baton?.agent === agent)
        .map((call) => JSON.stringify(call.prompt));
    const revision = prompts('writer')[1] ?? '';
    expect(revision).toContain('Your previous draft');
    expect(revision).toContain("We're thrilled to share");
    expect(revision).toContain('Yearly billing is not mentioned');
    expect(revision).toContain('At most 170 words');
    const polish = prompts('polisher')[0] ?? '';
    expect(polish).toContain('\\"approved\\": true');
    expect(polish).toContain('\\"rounds\\": 2');
    expect(polish).toContain('From 1 March 2027, Tallyboard Pro will cost $15 per month instead of $12.');
    await runtime.close();
  });

  it('analyze_text counts syllables, flags hype words and finds prices, dates and links', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const module = team.toolsModule as { syllables: (word: string) => number };
    expect(['cat', 'table', 'readability', 'hosting'].map(module.syllables)).toEqual([1, 2, 5, 2]);
    const analysis = (await team.tools.get('analyze_text')?.execute(
      { text: 'An amazing, revolutionary plan! Only $9.99 from 2 May 2027 at https://example.com/plans.' },
      {
        runId: 't',
        agent: 't',
        toolCallId: 'c',
        idempotencyKey: 'c',
        signal: new AbortController().signal,
      },
    )) as Analysis;
    expect(analysis).toMatchObject({
      hypeWords: ['amazing', 'revolutionary'],
      prices: ['$9.99'],
      dates: ['2 May 2027'],
      links: ['https://example.com/plans'],
    });
  });
});
