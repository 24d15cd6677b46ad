import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, type Store } from '../index.js';
import { policyStats } from '../patterns/evolving.js';
import { type ScriptedRequest, type ScriptedTurn, scriptedModel } from '../testing/index.js';
import { loadTeamFile, TeamFileError } from './index.js';

// Every pattern a team file can name, loaded from YAML and run offline on a scripted model.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-patterns-'));
let counter = 0;
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Writes a team file (and optional extra files next to it) into the workspace; returns its path. */
function teamFile(yaml: string, extra: Record<string, string> = {}): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(directory, name), text);
  return file;
}

async function run(file: string, model: ReturnType<typeof scriptedModel>, input: string, store?: Store) {
  const team = await loadTeamFile(file, { model, ...(store === undefined ? {} : { store }) });
  const runtime = createRuntime({ store: store ?? createMemoryStore(), recover: false });
  try {
    const handle = await runtime.start(team.runnable, input);
    return { team, output: (await handle.result()) as Record<string, unknown>, runtime, runId: handle.runId };
  } finally {
    await runtime.close();
  }
}

/** The text of a prompt's first user message. */
function firstUserText(prompt: LanguageModelV3Prompt): string {
  const message = prompt.find((item) => item.role === 'user');
  return message?.role === 'user'
    ? message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
    : '';
}

describe('team files: every pattern', () => {
  it('supervisor: the manager delegates to a worker through its tool and answers', async () => {
    const file = teamFile(`name: research
pattern: supervisor
manager: lead
workers: [researcher]
maxDelegations: 2
agents:
  - name: lead
    instructions: Delegate, then answer.
  - name: researcher
    description: Finds facts.
    instructions: Find facts.
`);
    const model = scriptedModel({
      lead: [
        { toolCalls: [{ tool: 'researcher', input: { input: 'Boiling point of water?' } }] },
        { text: 'It is 100 C.' },
      ],
      researcher: [{ text: '100 degrees Celsius at sea level.' }],
    });
    const { output } = await run(file, model, 'How hot does water boil?');
    expect(output).toBe('It is 100 C.');
    expect(JSON.stringify(model.calls[2]?.prompt)).toContain('100 degrees Celsius at sea level.');
  });

  it('groupChat: round robin until the critic mentions APPROVED', async () => {
    const file = teamFile(`name: review
pattern: groupChat
members: [writer, critic]
select: round-robin
terminate: { anyOf: [{ mention: APPROVED, from: critic }, { maxRounds: 6 }] }
agents:
  - name: writer
    instructions: Write.
  - name: critic
    instructions: Criticize.
`);
    const model = scriptedModel({
      writer: [{ text: 'Draft one.' }, { text: 'Draft two.' }],
      critic: [{ text: 'Too vague.' }, { text: 'APPROVED, ship it.' }],
    });
    const { output } = await run(file, model, 'Write a slogan');
    expect(output).toMatchObject({
      final: 'APPROVED, ship it.',
      rounds: 4,
      stoppedBy: '"APPROVED" mentioned by critic',
    });
  });

  it('groupChat: an LLM selector given as "provider:model" picks among the candidates', async () => {
    const file = teamFile(`name: panel
pattern: groupChat
members: [alice, bob, carol]
select: { selector: "openai:gpt-4o-mini", candidates: [alice, bob] }
maxRounds: 2
agents:
  - name: alice
    instructions: A.
  - name: bob
    instructions: B.
  - name: carol
    instructions: C.
`);
    const model = scriptedModel({
      'panel-selector': [{ text: 'bob' }, { text: 'alice' }],
      alice: [{ text: 'alice speaks' }],
      bob: [{ text: 'bob speaks' }],
    });
    const { output } = await run(file, model, 'Discuss');
    expect((output.messages as { speaker: string }[]).map((message) => message.speaker)).toEqual([
      'user',
      'bob',
      'alice',
    ]);
    // Only the candidates were offered to the selector.
    const offered = firstUserText(model.calls[0]?.prompt ?? []);
    expect(offered).toContain('Answer with one name from: alice, bob.');
  });

  it('makerChecker: the maker revises until the checker approves', async () => {
    const file = teamFile(`name: contract
pattern: makerChecker
maker: drafter
checker: lawyer
criteria: [Names both parties, Has a termination clause]
maxRounds: 3
agents:
  - name: drafter
    instructions: Draft.
  - name: lawyer
    instructions: Check.
`);
    const model = scriptedModel({
      drafter: [{ text: 'NDA v1' }, { text: 'NDA v2 with termination' }],
      lawyer: [{ text: 'REJECTED: no termination clause' }, { text: 'APPROVED' }],
    });
    const { output } = await run(file, model, 'NDA between Acme and Beta');
    expect(output).toMatchObject({ output: 'NDA v2 with termination', approved: true, rounds: 2 });
    expect(firstUserText(model.calls[1]?.prompt ?? [])).toContain('- Has a termination clause');
  });

  it('loop: the generator refines until the evaluator’s score reaches the threshold', async () => {
    const file = teamFile(`name: polish
pattern: loop
generator: writer
evaluator: judge
threshold: 0.9
maxIterations: 4
agents:
  - name: writer
    instructions: Write.
  - name: judge
    instructions: Score.
`);
    const model = scriptedModel({
      writer: [{ text: 'long text' }, { text: 'short' }],
      judge: [{ text: '{"score": 0.4, "feedback": "shorter"}' }, { text: '{"score": 0.95, "feedback": ""}' }],
    });
    const { output } = await run(file, model, 'Announce it');
    expect(output).toMatchObject({ output: 'short', score: 0.95, iterations: 2, stoppedBy: 'threshold' });
  });

  it('magentic: a "provider:model" manager plans, picks a member and answers', async () => {
    const file = teamFile(`name: desk
pattern: magentic
manager: "openai:gpt-4o-mini"
members: [worker]
maxRounds: 4
agents:
  - name: worker
    description: Does the work.
    instructions: Work.
`);
    const ledger = (done: boolean) =>
      JSON.stringify({
        requestSatisfied: { answer: done, reason: done ? 'done' : 'not yet' },
        inLoop: { answer: false, reason: 'no' },
        progressBeingMade: { answer: true, reason: 'yes' },
        nextSpeaker: { answer: 'worker', reason: 'it can' },
        instruction: { answer: 'compute it', reason: 'plan' },
      });
    const model = scriptedModel((request: ScriptedRequest): ScriptedTurn => {
      if (request.agent === 'worker') return { text: '42' };
      const text = firstUserText(request.prompt);
      if (text.startsWith('# Task ledger'))
        return {
          text: JSON.stringify({
            facts: { given: [], toLookUp: [], toDerive: [], guesses: [] },
            plan: ['worker: compute'],
          }),
        };
      if (text.startsWith('# Final answer')) return { text: 'The answer is 42.' };
      return { text: ledger(/round 2/.test(text)) };
    });
    const { output } = await run(file, model, 'What is 6 x 7?');
    expect(output).toMatchObject({ answer: 'The answer is 42.', stoppedBy: 'satisfied' });
  });

  it('eventDriven: events flow from the start topic through subscribers until the end topic', async () => {
    const file = teamFile(`name: newsroom
pattern: eventDriven
start: tips
until: published
maxEvents: 10
subscribers:
  - { member: reporter, topics: [tips], publishes: drafts }
  - { member: editor, topics: [drafts], publishes: published }
agents:
  - name: reporter
    instructions: Report.
  - name: editor
    instructions: Edit.
`);
    const model = scriptedModel({
      reporter: [{ text: 'draft: storm' }],
      editor: [{ text: 'STORM HITS COAST' }],
    });
    const { output } = await run(file, model, 'A storm is coming');
    expect(output).toBe('STORM HITS COAST');
    expect(firstUserText(model.calls[1]?.prompt ?? [])).toBe('draft: storm');
  });

  it('adaptive: the planner’s chain of tasks runs sequentially on the pool', async () => {
    const file = teamFile(`name: auto
pattern: adaptive
planner: planner
pool: [researcher, writer]
maxTasks: 4
agents:
  - name: planner
    instructions: Plan.
  - name: researcher
    instructions: Research.
  - name: writer
    instructions: Write.
`);
    const plan = {
      tasks: [
        { id: 'facts', description: 'Collect facts', agent: 'researcher' },
        { id: 'post', description: 'Write the post', dependsOn: ['facts'], agent: 'writer' },
      ],
    };
    const model = scriptedModel({
      planner: [{ text: JSON.stringify(plan) }],
      researcher: [{ text: 'fact: it rains' }],
      writer: [{ text: 'Post: bring an umbrella.' }],
    });
    const { output, runtime, runId } = await run(file, model, 'Write about the weather');
    expect(output).toBe('Post: bring an umbrella.');
    const decision = (await runtime.journal(runId)).find((entry) => entry.name === 'decision:adaptive');
    expect(decision?.meta).toMatchObject({ decision: 'sequential' });
  });

  it('evolving: learns in the given store, scoring with a module export', async () => {
    const file = teamFile(
      `name: support
pattern: evolving
candidates: [quick, careful]
score: ./score.ts#score
exploration: 0
minTrials: 1
teams:
  - name: careful
    pattern: sequential
    stages: [drafter, checker]
agents:
  - name: quick
    instructions: Answer fast.
  - name: drafter
    instructions: Draft.
  - name: checker
    instructions: Check.
`,
      {
        'score.ts':
          'export const score = (output: unknown) => (String(output).includes("resolved") ? 1 : 0);\n',
      },
    );
    const model = scriptedModel({
      quick: [{ text: 'no idea' }],
      drafter: [{ text: 'draft' }],
      checker: [{ text: 'resolved' }],
    });
    const store = createMemoryStore();
    const first = await run(file, model, 'Help', store);
    const second = await run(file, model, 'Help again', store);
    expect([first.output, second.output]).toEqual(['no idea', 'resolved']);
    const stats = await policyStats(store, 'support');
    expect(stats.map((row) => [row.candidate, row.meanScore])).toEqual([
      ['careful', 1],
      ['quick', 0],
    ]);
  });

  it('concurrent: a majority vote, a weighted vote, and low consistency handed to a judge', async () => {
    const yaml = (aggregate: string, extra = '') => `name: jury
pattern: concurrent
units: [a, b, c]
aggregate: ${aggregate}
${extra}agents:
  - name: a
    instructions: Vote.
  - name: b
    instructions: Vote.
  - name: c
    instructions: Vote.
  - name: judge
    instructions: Decide.
`;
    const votes = () =>
      scriptedModel({
        a: [{ text: 'guilty' }],
        b: [{ text: 'Guilty' }],
        c: [{ text: 'innocent' }],
        judge: [{ text: 'retrial' }],
      });
    const majority = await run(teamFile(yaml('vote')), votes(), 'Verdict?');
    expect(majority.output).toMatchObject({ winner: 'guilty' });
    expect(majority.output.consistency).toBeCloseTo(2 / 3);
    const weighted = await run(teamFile(yaml('{ weighted: { c: 3 } }')), votes(), 'Verdict?');
    expect(weighted.output).toMatchObject({ winner: 'innocent' });
    const split = await run(
      teamFile(yaml('vote', 'minConsistency: 0.9\nonLowConsistency: judge\n')),
      votes(),
      'Verdict?',
    );
    expect(split.output).toBe('retrial');
  });

  it('handoff: the fallback agent takes over when agents bounce the customer back and forth', async () => {
    const file = teamFile(`name: desk
pattern: handoff
entry: triage
allowReturn: true
fallback: human-desk
agents:
  - name: triage
    instructions: Route.
  - name: billing
    instructions: Bill.
  - name: human-desk
    version: "3"
    instructions: Take over.
`);
    const model = scriptedModel({
      triage: [
        { toolCalls: [{ tool: 'transfer_to_billing', input: {} }] },
        { toolCalls: [{ tool: 'transfer_to_billing', input: {} }] },
      ],
      billing: [
        { toolCalls: [{ tool: 'transfer_to_triage', input: {} }] },
        { toolCalls: [{ tool: 'transfer_to_triage', input: {} }] },
      ],
      'human-desk': [{ text: 'A person will call you.' }],
    });
    const { output, team } = await run(file, model, 'Refund me');
    expect(output).toBe('A person will call you.');
    expect(team.agents.get('human-desk')?.version).toBe('3');
    expect(team.agents.get('triage')?.version).toBe('1');
  });
});

describe('team files: pattern loop options', () => {
  const supportTeam = (extra: string) => `name: support
pattern: handoff
entry: triage
allowReturn: true
maxHandoffs: 20
${extra}agents:
  - name: triage
    instructions: Route.
  - name: billing
    instructions: Bill.
`;

  /** Triage and billing hand the conversation to each other until billing is told about the loop. */
  const pingPong = () =>
    scriptedModel(({ agent: name, prompt }: ScriptedRequest): ScriptedTurn => {
      if (name === 'billing' && JSON.stringify(prompt).includes('Loop warning'))
        return { text: 'I cannot change the order; here is how to return it.' };
      return {
        toolCalls: [{ tool: name === 'triage' ? 'transfer_to_billing' : 'transfer_to_triage', input: {} }],
      };
    });
  const callsOf = (model: ReturnType<typeof scriptedModel>, name: string) =>
    model.calls.filter(
      (call) => (call.providerOptions?.baton as { agent?: string } | undefined)?.agent === name,
    );

  it('handoff: loopResponse: warn lets the transfer happen and warns the agent receiving control', async () => {
    const model = pingPong();
    const { output, team } = await run(teamFile(supportTeam('loopResponse: warn\n')), model, 'refund A-7');
    expect(output).toBe('I cannot change the order; here is how to return it.');
    expect(team.runnable.kind).toBe('pattern');
    const warned = callsOf(model, 'billing').at(-1);
    expect(JSON.stringify(warned?.prompt.at(-1))).toContain(
      'Loop warning from \\"support\\": the conversation is going around in a cycle (triage -> billing -> triage, 2 times in a row)',
    );
    expect(callsOf(model, 'billing')).toHaveLength(2);

    // Without loopResponse the guard stops the run, as before.
    const stopped = await run(teamFile(supportTeam('')), pingPong(), 'refund A-7').then(
      () => expect.unreachable('the run should fail'),
      (error: unknown) => error as { code?: string },
    );
    expect(stopped.code).toBe('HANDOFF_LOOP');
  });

  it('groupChat: loopDetection { response: stop, maxRepeats: 2 } ends the chat on a repeated message', async () => {
    const chat = (extra: string) => `name: review
pattern: groupChat
members: [writer, critic]
maxRounds: 6
${extra}agents:
  - name: writer
    instructions: Write.
  - name: critic
    instructions: Criticize.
`;
    const agreeable = () =>
      scriptedModel(
        ({ agent: name }: ScriptedRequest): ScriptedTurn => ({
          text: name === 'writer' ? 'Looks good to me.' : 'looks   GOOD to me.',
        }),
      );
    const { output } = await run(
      teamFile(chat('loopDetection: { response: stop, maxRepeats: 2 }\n')),
      agreeable(),
      'Review the plan',
    );
    expect(output).toMatchObject({ rounds: 2 });
    expect(String(output.stoppedBy)).toMatch(/^loop:/);
    expect(output.stoppedBy).toBe('loop: "Looks good to me." repeated 2 times');

    // Off by default (and with false): the chat runs to maxRounds.
    for (const extra of ['', 'loopDetection: false\n']) {
      const plain = await run(teamFile(chat(extra)), agreeable(), 'Review the plan');
      expect(plain.output).toMatchObject({ rounds: 6 });
      expect(String(plain.output.stoppedBy)).not.toMatch(/^loop:/);
    }
  });

  async function loadError(yaml: string): Promise<string> {
    const error = await loadTeamFile(teamFile(yaml), { model: scriptedModel([]) }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TeamFileError);
    return (error as TeamFileError).message;
  }

  it('reports loop options on the wrong pattern, and bad values, at line:column', async () => {
    const chat = (extra: string) => `name: review
pattern: groupChat
members: [writer, critic]
${extra}agents:
  - name: writer
    instructions: Write.
  - name: critic
    instructions: Criticize.
`;
    expect(await loadError(chat('loopResponse: warn\n'))).toMatch(
      /:4:1: loopResponse: "loopResponse" is used by pattern handoff, but this team uses pattern groupChat/,
    );
    expect(await loadError(supportTeam('loopDetection: true\n'))).toMatch(
      /:6:1: loopDetection: "loopDetection" is used by pattern groupChat, but this team uses pattern handoff/,
    );
    expect(await loadError(supportTeam('loopResponse: ignore\n'))).toMatch(
      /:6:15: loopResponse: unknown value "ignore" \(known: stop, warn, escalate\)/,
    );
    expect(await loadError(chat('loopDetection: { maxRepeats: 1 }\n'))).toMatch(
      /:4:30: loopDetection\.maxRepeats: must be at least 2; got number 1/,
    );
    expect(await loadError(chat('loopDetection: { respons: stop }\n'))).toMatch(
      /:4:18: loopDetection\.respons: unknown key "respons" \(allowed: maxRepeats, response\)\..*Did you mean "response"\?/,
    );
    expect(await loadError(chat('loopDetection: always\n'))).toMatch(
      /:4:16: loopDetection: expected true, false or a mapping \{ maxRepeats\?, response\? \}; got "always"/,
    );
  });
});
