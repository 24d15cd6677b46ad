import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '../index.js';
import { scriptedModel } from '../testing/index.js';
import { loadTeamFile, TeamFileError } from './index.js';

// Nested teams, human members, and the located errors of the extended format.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-nesting-'));
let counter = 0;
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function teamFile(yaml: string): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  return file;
}

const shown = (file: string): string => relative(process.cwd(), file);

async function loadError(yaml: string): Promise<TeamFileError & { file: string }> {
  const file = teamFile(yaml);
  const error = await loadTeamFile(file, { env: { OPENAI_API_KEY: 'test' } }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  expect((error as TeamFileError).file).toBe(shown(file));
  return error as TeamFileError & { file: string };
}

const messages = (error: TeamFileError) =>
  error.problems.map((problem) => `${problem.line}:${problem.column} ${problem.path}: ${problem.message}`);

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 5000) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('team files: nested teams', () => {
  it('runs a supervisor whose worker is a group chat team', async () => {
    const file = teamFile(`name: studio
model: openai:gpt-4o-mini
pattern: supervisor
manager: lead
workers: [review, researcher]
teams:
  - name: review
    description: A writer and a critic polish a text together.
    pattern: groupChat
    members: [writer, critic]
    terminate: { approvedBy: critic, keyword: LGTM }
    maxRounds: 4
agents:
  - name: lead
    instructions: Delegate.
  - name: researcher
    description: Finds facts.
    instructions: Research.
  - name: writer
    instructions: Write.
  - name: critic
    instructions: Critique.
`);
    const model = scriptedModel({
      lead: [
        { toolCalls: [{ tool: 'review', input: { input: 'Polish: hello world' } }] },
        { text: 'Done: Hello, World!' },
      ],
      writer: [{ text: 'Hello, World!' }],
      critic: [{ text: 'LGTM' }],
    });
    const team = await loadTeamFile(file, { model });
    expect([...team.teams.keys()]).toEqual(['review']);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Write a greeting');
    expect(await handle.result()).toBe('Done: Hello, World!');
    // The manager saw the team's description in its tool, and the chat's result as the tool result.
    const tools = model.calls[0]?.tools?.map((tool) => ('description' in tool ? tool.description : ''));
    expect(tools).toContain('A writer and a critic polish a text together.');
    expect(JSON.stringify(model.calls.at(-1)?.prompt)).toContain('approved by critic');
    const child = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'run:review');
    expect(child?.kind).toBe('child');
    await runtime.close();
  });

  it('runs a sequential stage that is a concurrent team, and a nested handoff team along the entry’s handoffs', async () => {
    const file = teamFile(`name: pipeline
pattern: sequential
stages: [brainstorm, desk]
teams:
  - name: brainstorm
    pattern: concurrent
    units: [optimist, pessimist]
  - name: desk
    pattern: handoff
    entry: triage
agents:
  - name: optimist
    instructions: Be upbeat.
  - name: pessimist
    instructions: Be gloomy.
  - name: triage
    instructions: Route.
    handoffs: [editor]
  - name: editor
    instructions: Edit.
  - name: unrelated
    instructions: Not part of the desk.
`);
    const model = scriptedModel({
      optimist: [{ text: 'great' }],
      pessimist: [{ text: 'awful' }],
      triage: [{ toolCalls: [{ tool: 'transfer_to_editor', input: {} }] }],
      editor: [{ text: 'Balanced: mixed.' }],
    });
    const team = await loadTeamFile(file, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Rate the idea');
    expect(await handle.result()).toBe('Balanced: mixed.');
    const triage = model.calls.find((call) => call.providerOptions?.baton?.agent === 'triage');
    expect(JSON.stringify(triage?.prompt)).toContain('\\"optimist\\": \\"great\\"');
    // Only the entry's own handoffs: "unrelated" is not a specialist of the nested desk.
    expect(triage?.tools?.map((tool) => tool.name)).toEqual(['transfer_to_editor']);
    await runtime.close();
  });
});

describe('team files: humans', () => {
  it('a human group chat member answers through runtime.signal', async () => {
    const file = teamFile(`name: publish
pattern: groupChat
members: [writer, editor]
terminate: { approvedBy: editor }
humans:
  - name: editor
    description: Approves publication.
    prompt: Approve the draft or say what to change.
    timeout: 3d
agents:
  - name: writer
    instructions: Write.
`);
    const model = scriptedModel({ writer: [{ text: 'Draft A' }, { text: 'Draft B' }] });
    const team = await loadTeamFile(file, { model });
    expect(team.humans.get('editor')?.signal).toBe('human:editor');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Launch post');
    const suspended = async () => (await runtime.get(handle.runId)).status === 'suspended';
    await waitUntil(suspended);
    await runtime.signal(handle.runId, 'human:editor', 'Shorter, please.');
    await waitUntil(
      async () =>
        (await runtime.journal(handle.runId)).filter((entry) => entry.name === 'ask:editor').length === 2,
    );
    await waitUntil(suspended);
    await runtime.signal(handle.runId, 'human:editor', { text: 'APPROVED' });
    expect(await handle.result()).toMatchObject({
      final: 'APPROVED',
      rounds: 4,
      stoppedBy: 'approved by editor',
    });
    const asked = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'ask:editor');
    expect(asked?.result).toMatchObject({
      prompt: 'Approve the draft or say what to change.',
      timeoutMs: 259_200_000,
    });
    await runtime.close();
  });

  it('a human checker who does not answer in time is replaced by the fallback agent', async () => {
    const file = teamFile(`name: review
pattern: makerChecker
maker: writer
checker: lead
criteria: Short and clear
humans:
  - name: lead
    description: The team lead.
    timeout: 30
    fallback: { agent: backup }
agents:
  - name: writer
    instructions: Write.
  - name: backup
    instructions: Judge when the lead is away.
`);
    const model = scriptedModel({ writer: [{ text: 'Tiny text.' }], backup: [{ text: 'APPROVED' }] });
    const team = await loadTeamFile(file, { model });
    expect(team.humans.get('lead')?.description).toBe('The team lead.');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Write a tagline');
    expect(await handle.result()).toMatchObject({ output: 'Tiny text.', approved: true, rounds: 1 });
    const journal = await runtime.journal(handle.runId);
    expect(journal.some((entry) => entry.name === 'run:backup')).toBe(true);
    await runtime.close();
  });

  it('a fixed fallback answer needs a timeout', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: groupChat
members: [a, boss]
humans:
  - name: boss
    fallback: REJECTED
agents:
  - name: a
    instructions: x
`);
    expect(messages(error)).toEqual([
      '7:5 humans[0].fallback: a fallback needs timeout: (how long to wait before the fallback answers), e.g. timeout: 2h.',
    ]);
  });
});

describe('team files: models of selectors, managers and planners', () => {
  const yaml = (selector: string) => `name: panel
model: openai:gpt-4o-mini
offline: { script: ./script.yaml }
pattern: groupChat
members: [alice, bob]
select: { selector: "${selector}" }
maxRounds: 1
agents:
  - name: alice
    instructions: A.
  - name: bob
    instructions: B.
`;

  it('an offline script may give turns to the selector agent a "provider:model" selector makes', async () => {
    const file = teamFile(yaml('anthropic:claude-haiku-4-5'));
    writeFileSync(
      join(file, '..', 'script.yaml'),
      'panel-selector:\n  - text: bob\nbob:\n  - text: offline bob\n',
    );
    const team = await loadTeamFile(file, { env: {}, offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Go');
    expect(await handle.result()).toMatchObject({ final: 'offline bob' });
    await runtime.close();
  });

  it('a "provider:model" selector needs its provider’s key like an agent’s model', async () => {
    const file = teamFile(
      yaml('anthropic:claude-haiku-4-5').replace('offline: { script: ./script.yaml }\n', ''),
    );
    const error = await loadTeamFile(file, { env: { OPENAI_API_KEY: 'k' } }).catch(
      (caught: unknown) => caught,
    );
    expect((error as TeamFileError).problems.map((problem) => `${problem.line}:${problem.path}`)).toEqual([
      '5:select.selector',
    ]);
    expect((error as TeamFileError).message).toContain('no model configured: set ANTHROPIC_API_KEY');
  });
});

describe('team files: located errors', () => {
  it('an unknown member lists agents, teams and humans and suggests the closest', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: supervisor
manager: lead
workers: [reveiw, editr]
teams:
  - name: review
    pattern: groupChat
    members: [lead, writer]
humans:
  - name: editor
agents:
  - name: lead
    instructions: x
  - name: writer
    instructions: y
`);
    expect(messages(error)).toEqual([
      '5:11 workers[0]: unknown agent, team or human "reveiw" (agents: lead, writer; teams: review; humans: editor). Did you mean "review"?',
      '5:19 workers[1]: unknown agent, team or human "editr" (agents: lead, writer; teams: review; humans: editor). Did you mean "editor"?',
    ]);
    expect(error.message).toMatch(/^.+team\.yaml:5:11: workers\[0\]: unknown agent, team or human "reveiw"/);
  });

  it('a cycle between teams names the cycle; a member of the wrong kind says what is needed', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: sequential
stages: [a]
teams:
  - name: a
    pattern: sequential
    stages: [w, b]
  - name: b
    pattern: concurrent
    units: [w, c]
  - name: c
    pattern: supervisor
    manager: b
    workers: [a]
agents:
  - name: w
    instructions: x
`);
    expect(messages(error)).toEqual([
      '14:14 teams[2].manager: "b" is a team, but manager must be an agent.',
      '15:15 teams[2].workers[0]: teams refer to each other in a cycle: a -> b -> c -> a; a team cannot contain itself, directly or through other teams. Remove one of these references.',
    ]);
  });

  it('a field of another pattern, a missing required field and duplicate names', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: agent
teams:
  - name: chat
    pattern: groupChat
    workers: [w, x]
  - name: w
    pattern: loop
    generator: x
    evaluator: x
agents:
  - name: x
    instructions: x
`);
    expect(messages(error)).toEqual([
      '6:5 teams[0].pattern: pattern groupChat needs members: a list of the agents, teams and humans that take part.',
      '7:5 teams[0].workers: "workers" is used by pattern supervisor, but this team uses pattern groupChat; remove it or change the pattern.',
      '9:5 teams[1].pattern: pattern loop needs threshold: the score from 0 to 1 at which to stop.',
      '11:16 teams[1].evaluator: the evaluator must be another member than the generator.',
    ]);
    const duplicate = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: agent
humans:
  - name: x
agents:
  - name: x
    instructions: x
`);
    expect(messages(duplicate)).toEqual([
      '5:11 humans[0].name: duplicate name "x" (agents[0] has it too); names must be unique across agents, teams and humans.',
    ]);
  });

  it('a bad duration says what a duration looks like', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: groupChat
members: [a, boss]
terminate: { timeout: 10 minutes }
humans:
  - name: boss
    timeout: 0s
agents:
  - name: a
    instructions: x
`);
    expect(messages(error)).toEqual([
      '5:23 terminate.timeout: expected a duration such as "30s", "10m", "2h", "3d" or a number of milliseconds; got "10 minutes".',
      '8:14 humans[0].timeout: a duration must be longer than 0; got "0s".',
    ]);
  });

  it('bad terminate conditions: two kinds, a stray from, a non-member, an unknown key', async () => {
    const chat = (terminate: string) => `name: t
model: openai:gpt-4o-mini
pattern: groupChat
members: [writer, critic]
terminate:
${terminate}
agents:
  - name: writer
    instructions: x
  - name: critic
    instructions: y
`;
    const error = await loadError(
      chat(
        '  anyOf:\n    - { maxRounds: 3, mention: DONE }\n    - { from: critic }\n    - { approvedBy: boss }',
      ),
    );
    expect(messages(error)).toEqual([
      '7:23 terminate.anyOf[0].mention: a condition has one kind, but this one sets maxRounds and mention; combine them with anyOf: [{ maxRounds: ... }, { mention: ... }] (stop when either holds) or allOf: [...] (when both hold).',
      '8:7 terminate.anyOf[1]: a condition needs one of maxRounds, mention, tokens, timeout, approvedBy, anyOf, allOf (from goes with mention); for example { mention: APPROVED, from: critic }.',
      '9:21 terminate.anyOf[2].approvedBy: approvedBy must be a member of this group chat; "boss" is not (members: writer, critic).',
    ]);
    const typo = await loadError(chat('  mentoin: DONE'));
    expect(messages(typo)).toEqual([
      '6:3 terminate.mentoin: unknown key "mentoin" (allowed: maxRounds, mention, from, tokens, timeout, approvedBy, keyword, anyOf, allOf). Did you mean "mention"?',
    ]);
  });

  it('evolving without a store, and a module export that does not exist', async () => {
    const error = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: evolving
candidates: [a, b]
agents:
  - name: a
    instructions: x
  - name: b
    instructions: y
`);
    expect(messages(error)).toEqual([
      '3:1 pattern: pattern evolving keeps the outcomes it learns from in a store: pass the runtime’s store, loadTeamFile(path, { store }).',
    ]);
    const missing = await loadError(`name: t
model: openai:gpt-4o-mini
pattern: evolving
candidates: [a, b]
score: ./nope.ts#score
agents:
  - name: a
    instructions: x
  - name: b
    instructions: y
`);
    expect(messages(missing)[0]).toMatch(/^5:8 score: module not found: \.\/nope\.ts \(looked for /);
  });
});
