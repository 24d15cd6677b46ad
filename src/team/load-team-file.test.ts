import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatonError, createMemoryStore, createRuntime } from '../index.js';
import { scriptedModel } from '../testing/index.js';
import { loadTeamFile, TeamFileError } from './index.js';

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-test-'));
const toolsFile = join(workspace, 'tools.ts');
writeFileSync(
  toolsFile,
  `import { z } from 'zod';
import { tool } from '../../src/index.js';
export const lookupOrder = tool({ name: 'lookup_order', description: 'Find an order', input: z.object({ orderId: z.string() }), execute: ({ orderId }) => ({ orderId, total: 20 }) });
export const refundOrder = tool({ name: 'refund_order', description: 'Refund', input: z.object({ orderId: z.string() }), execute: ({ orderId }) => \`refunded \${orderId}\` });
export const notATool = 42;
`,
);
let counter = 0;
/** The test modules live in the workspace, above each case's team folder. */
const allowModulesFrom = [workspace];
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Writes a team file (and optionally a script) into the workspace; returns its path. */
function teamFile(yaml: string, script?: string): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  if (script !== undefined) writeFileSync(join(directory, 'script.yaml'), script);
  return file;
}

const shown = (file: string): string => relative(process.cwd(), file);

async function loadError(
  file: string,
  env: Record<string, string> = { OPENAI_API_KEY: 'test' },
): Promise<TeamFileError> {
  const error = await loadTeamFile(file, { allowModulesFrom, env }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return error as TeamFileError;
}

const support = `name: support
model: openai:gpt-4o-mini
tools: ../tools.ts
pattern: handoff
entry: triage
agents:
  - name: triage
    instructions: Route the customer.
    tools: [lookup_order]
    handoffs: [billing, technical]
  - name: billing
    instructions: Refunds.
    tools: [refund_order]
    handoffs:
      - biling
  - name: technical
    instructions: Apps and devices.
`;

describe('loadTeamFile errors', () => {
  it('names file, line, column, path, the unknown agent, the known ones and the likely fix', async () => {
    const file = teamFile(support);
    const error = await loadError(file);
    expect(error.message).toBe(
      `${shown(file)}:15:9: agents[1].handoffs[0]: unknown agent "biling" (known: triage, billing, technical). Did you mean "billing"?`,
    );
    expect(error).toMatchObject({ code: 'TEAM_FILE_INVALID', fault: 'user', line: 15, column: 9 });
    expect(error.file).toBe(shown(file));
    expect(BatonError.isInstance(error)).toBe(true);
  });

  it('reports YAML syntax errors with their position', async () => {
    const file = teamFile('name: broken\nagents:\n  - name: a\n   instructions: [unclosed\n');
    const error = await loadError(file);
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(shown(file))}:\\d+:\\d+: invalid YAML: `));
    expect(error.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects unknown keys and says which keys are allowed', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n    handoff: [b]\n',
    );
    const error = await loadError(file);
    expect(error.message).toMatch(
      /:7:5: agents\[0\]\.handoff: unknown key "handoff" \(allowed: name, description, instructions, model, tools, handoffs, .*\)\. Did you mean "handoffs"\?/,
    );
  });

  it('rejects wrong types and missing required fields, listing every problem in file order', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n    maxTurns: six\n  - name: b\n',
    );
    const error = await loadError(file);
    const [first, second] = error.problems;
    expect(first?.message).toBe('expected a whole number; got "six".');
    expect(first).toMatchObject({ line: 7, column: 15, path: 'agents[0].maxTurns' });
    expect(second?.path).toBe('agents[1]');
    expect(second?.message).toMatch(
      /^missing required field "instructions" \(The system prompt of the agent\)/,
    );
    expect(error.message).toContain('1 more problem:');
  });

  it('rejects a pattern that does not exist and suggests the closest', async () => {
    const file = teamFile('name: t\npattern: hand-off\nagents:\n  - name: a\n    instructions: x\n');
    const error = await loadError(file);
    expect(error.message).toBe(
      `${shown(file)}:2:10: pattern: unknown pattern "hand-off" (known: agent, handoff, sequential, concurrent, supervisor, groupChat, makerChecker, loop, magentic, eventDriven, adaptive, evolving). Did you mean "handoff"?`,
    );
  });

  it('rejects duplicate agent names and unknown entry, stage, unit and aggregate references', async () => {
    const duplicate = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n  - name: a\n    instructions: y\n',
    );
    expect((await loadError(duplicate)).message).toMatch(
      /:7:11: agents\[1\]\.name: duplicate agent name "a"/,
    );

    const entry = teamFile(
      'name: t\npattern: agent\nentry: writr\nmodel: openai:gpt-4o-mini\nagents:\n  - name: writer\n    instructions: x\n',
    );
    expect((await loadError(entry)).message).toMatch(
      /:3:8: entry: unknown agent "writr" \(known: writer\)\. Did you mean "writer"\?/,
    );

    const stages = teamFile(
      'name: t\npattern: sequential\nmodel: openai:gpt-4o-mini\nstages: [drafter, reviewr]\nagents:\n  - name: drafter\n    instructions: x\n  - name: reviewer\n    instructions: y\n',
    );
    expect((await loadError(stages)).message).toMatch(/:4:19: stages\[1\]: unknown agent "reviewr"/);

    const units = teamFile(
      'name: t\npattern: concurrent\nmodel: openai:gpt-4o-mini\nunits: [a, c]\naggregate: collct\nagents:\n  - name: a\n    instructions: x\n  - name: b\n    instructions: y\n',
    );
    const error = await loadError(units);
    expect(error.problems.map((problem) => `${problem.path}: ${problem.message}`)).toEqual([
      'units[1]: unknown agent "c" (known: a, b).',
      'aggregate: unknown agent "collct" (known: a, b, collect, vote). Did you mean "collect"?',
    ]);
  });

  it('rejects fields another pattern uses, and a sequential team without stages', async () => {
    const file = teamFile(
      'name: t\npattern: sequential\nmodel: openai:gpt-4o-mini\nentry: a\nagents:\n  - name: a\n    instructions: x\n',
    );
    const messages = (await loadError(file)).problems.map((problem) => problem.message);
    expect(messages).toContain(
      '"entry" is used by pattern agent and handoff, but this team uses pattern sequential; remove it or change the pattern.',
    );
    expect(messages).toContain('pattern sequential needs stages: a list of agent names in order.');
  });

  it('rejects unknown tool names and lists what the tools module exports', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ../tools.ts\nagents:\n  - name: a\n    instructions: x\n    tools: [lookup_ordr]\n',
    );
    expect((await loadError(file)).message).toMatch(
      /:8:13: agents\[0\]\.tools\[0\]: unknown tool "lookup_ordr" \(\.\.\/tools\.ts exports: lookup_order, refund_order\)\. Did you mean "lookup_order"\?/,
    );
    const noModule = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n    tools: [x]\n',
    );
    expect((await loadError(noModule)).message).toContain(
      'this team has no tools module; add tools: ./tools.ts',
    );
    const missing = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ./nope.ts\nagents:\n  - name: a\n    instructions: x\n',
    );
    expect((await loadError(missing)).message).toMatch(/:4:8: tools: tools module not found: \.\/nope\.ts/);
  });

  it('checks JSON Schemas of outputs and payloads for typos', async () => {
    const file = teamFile(`name: t
pattern: agent
model: openai:gpt-4o-mini
agents:
  - name: a
    instructions: x
    output:
      type: object
      propertys: { ok: { type: boolean } }
      required: [ok]
`);
    const messages = (await loadError(file)).problems.map(
      (problem) => `${problem.line}:${problem.path}: ${problem.message}`,
    );
    expect(messages[0]).toBe(
      '9:agents[0].output.propertys: unknown JSON Schema keyword "propertys". Did you mean "properties"?',
    );
    expect(messages[1]).toMatch(
      /^10:agents\[0\]\.output\.required\[0\]: required names "ok", which is not in properties/,
    );
  });

  it('says how to configure a model when none is available', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n',
    );
    const error = await loadError(file, {});
    expect(error.message).toMatch(
      /:3:8: model: no model configured: set OPENAI_API_KEY to use this model, or set BATON_MODEL=provider:model/,
    );
    expect(error.message).toContain('offline: { script: ./script.yaml }');
  });

  it('reports a missing file and an empty file', async () => {
    const error = await loadTeamFile(join(workspace, 'missing.yaml')).catch((caught: unknown) => caught);
    expect((error as TeamFileError).message).toMatch(/missing\.yaml: file not found \(looked for /);
    const empty = await loadError(teamFile('# nothing here\n'));
    expect(empty.message).toContain('the file is empty');
  });
});

describe('loadTeamFile models', () => {
  const yaml =
    'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\noffline:\n  script: ./script.yaml\nagents:\n  - name: a\n    instructions: x\n  - name: b\n    model: anthropic:claude-haiku-4-5\n    instructions: y\n';
  const script = 'a:\n  - text: offline answer\n';

  it('uses BATON_MODEL for every agent when set', async () => {
    const team = await loadTeamFile(teamFile(yaml, script), {
      allowModulesFrom,
      env: { BATON_MODEL: 'google:gemini-2.5-flash' },
    });
    expect([...team.agents.values()].map((agent) => agent.model)).toEqual([
      'google:gemini-2.5-flash',
      'google:gemini-2.5-flash',
    ]);
    expect(team.offline).toBe(false);
  });

  it("uses the file's models when their providers' keys are set, else runs offline with a notice", async () => {
    const live = await loadTeamFile(teamFile(yaml, script), {
      allowModulesFrom,
      env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k' },
    });
    expect([...live.agents.values()].map((agent) => agent.model)).toEqual([
      'openai:gpt-4o-mini',
      'anthropic:claude-haiku-4-5',
    ]);

    const file = teamFile(yaml, script);
    const offline = await loadTeamFile(file, { allowModulesFrom, env: { OPENAI_API_KEY: 'k' } });
    expect(offline.offline).toBe(true);
    expect(offline.notice).toBe(
      `No model configured (set ANTHROPIC_API_KEY, or BATON_MODEL=provider:model with that provider's key); running offline on scripted responses from ${shown(file).replace('team.yaml', 'script.yaml')}.`,
    );
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(offline.runnable, 'hi');
    expect(await handle.result()).toBe('offline answer');
    await runtime.close();
  });

  it("finds the provider's key for a model spelled provider/model, as the AI SDK writes it", async () => {
    const file = teamFile(yaml.replace('anthropic:claude-haiku-4-5', 'anthropic/claude-haiku-4-5'), script);
    const offline = await loadTeamFile(file, { allowModulesFrom, env: { OPENAI_API_KEY: 'k' } });
    expect(offline.offline).toBe(true);
    expect(offline.notice).toContain('set ANTHROPIC_API_KEY');
    const live = await loadTeamFile(file, {
      allowModulesFrom,
      env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k' },
    });
    expect(live.offline).toBe(false);
  });

  it('accepts an AI SDK model or a model string as an override, and "offline" to force the script', async () => {
    const model = scriptedModel([{ text: 'scripted' }]);
    const team = await loadTeamFile(teamFile(yaml, script), { allowModulesFrom, model, env: {} });
    expect(team.agents.get('b')?.model).toBe(model);
    const forced = await loadTeamFile(teamFile(yaml, script), {
      allowModulesFrom,
      model: 'offline',
      env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k' },
    });
    expect(forced.offline).toBe(true);
    expect(forced.notice).toMatch(/^Running offline on scripted responses from /);
    await expect(loadTeamFile(teamFile(yaml, script), { allowModulesFrom, model: 'gpt4' })).rejects.toThrow(
      /not "provider:model"/,
    );
  });

  it('rejects an offline script with turns for agents the team does not have', async () => {
    const error = await loadError(teamFile(yaml, 'a:\n  - text: x\nc:\n  - text: y\n'), {});
    expect(error.message).toMatch(
      /:5:11: offline\.script: \.\/script\.yaml has turns for "c", which is not an agent of this team \(agents: a, b\)/,
    );
  });
});

describe('loadTeamFile teams', () => {
  it('builds a handoff team whose payload schema reaches the next agent', async () => {
    const file = teamFile(`name: desk
pattern: handoff
model: openai:gpt-4o-mini
tools: ../tools.ts
agents:
  - name: triage
    instructions: Route.
    tools: [lookup_order]
    handoffs:
      - agent: billing
        payload:
          type: object
          properties: { orderId: { type: string } }
          required: [orderId]
  - name: billing
    instructions: Refund.
    tools: [refund_order]
`);
    const model = scriptedModel({
      triage: [
        { toolCalls: [{ tool: 'transfer_to_billing', input: {} }] },
        { toolCalls: [{ tool: 'transfer_to_billing', input: { orderId: 'A-1' } }] },
      ],
      billing: [
        { toolCalls: [{ tool: 'refund_order', input: { orderId: 'A-1' } }] },
        { text: 'Refunded A-1.' },
      ],
    });
    const team = await loadTeamFile(file, { allowModulesFrom, model });
    expect(team.runnable.name).toBe('desk');
    expect(team.pattern).toBe('handoff');
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(team.runnable, 'Refund A-1');
    expect(await handle.result()).toBe('Refunded A-1.');
    // The first transfer lacked the required orderId and went back to the model as an error.
    expect(JSON.stringify(model.calls[1]?.prompt.at(-1))).toContain('Invalid handoff arguments');
    const billingPrompt = model.calls[2]?.prompt[0];
    expect(billingPrompt).toEqual({
      role: 'system',
      content: 'Refund.\n\nHandoff payload from the previous agent:\n{\n  "orderId": "A-1"\n}',
    });
    await runtime.close();
  });

  it('builds sequential and concurrent teams with structured outputs', async () => {
    const sequentialFile = teamFile(`name: pipeline
pattern: sequential
model: openai:gpt-4o-mini
stages: [drafter, reviewer]
agents:
  - name: drafter
    instructions: Draft.
    output:
      type: object
      properties: { title: { type: string }, words: { type: integer } }
      required: [title, words]
  - name: reviewer
    instructions: Review.
`);
    const model = scriptedModel({
      drafter: [{ text: '{"title": "Hello", "words": 3}' }],
      reviewer: [{ text: 'Approved' }],
    });
    const pipeline = await loadTeamFile(sequentialFile, { allowModulesFrom, model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    expect(await (await runtime.start(pipeline.runnable, 'Write a title')).result()).toBe('Approved');
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('\\"title\\": \\"Hello\\"');

    const concurrentFile = teamFile(`name: panel
pattern: concurrent
model: openai:gpt-4o-mini
units: [optimist, pessimist]
require: 2
agents:
  - name: optimist
    instructions: Be upbeat.
  - name: pessimist
    instructions: Be gloomy.
`);
    const panel = await loadTeamFile(concurrentFile, {
      allowModulesFrom,
      model: scriptedModel({ optimist: [{ text: 'great' }], pessimist: [{ text: 'awful' }] }),
    });
    expect(await (await runtime.start(panel.runnable, 'The weather?')).result()).toEqual({
      optimist: 'great',
      pessimist: 'awful',
    });
    await runtime.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('team files load code only from their own folder unless allowed', () => {
  // A module outside the team's folder that records it ran: loading must never import it.
  const outside = join(workspace, 'outside-evil.mjs');
  writeFileSync(
    outside,
    'globalThis.batonOutsideModuleRan = true;\nexport const rule = () => true;\nexport const lookup = { kind: "tool" };\n',
  );
  const ran = (): unknown => (globalThis as Record<string, unknown>).batonOutsideModuleRan;
  const refusal = async (file: string): Promise<TeamFileError> => {
    const error = await loadTeamFile(file, { env: { OPENAI_API_KEY: 'k' } }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TeamFileError);
    return error as TeamFileError;
  };

  it('refuses a ../ or absolute tools module, and a ../ module reference, naming file:line:column', async () => {
    const relativeTools = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ../outside-evil.mjs\nagents:\n  - name: a\n    instructions: x\n',
    );
    expect((await refusal(relativeTools)).message).toBe(
      `${shown(relativeTools)}:4:8: tools: refused to load ../outside-evil.mjs: it resolves to ${outside}, outside the team's folder (${join(relativeTools, '..')}). A team file loads code only from its own folder; move the module there, or allow its folder explicitly with loadTeamFile(file, { allowModulesFrom: ['<folder>'] }) or BATON_ALLOW_MODULES_FROM=<folder> for the baton CLI.`,
    );
    const absoluteTools = teamFile(
      `name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ${outside}\nagents:\n  - name: a\n    instructions: x\n`,
    );
    expect((await refusal(absoluteTools)).message).toContain(`:4:8: tools: refused to load ${outside}`);
    // An approval rule (a module reference) in a team whose own tools module is in its folder.
    const approvalRule = teamFile(`name: t
pattern: agent
model: openai:gpt-4o-mini
tools: ./tools.ts
agents:
  - name: a
    instructions: x
    tools: [refund_order]
    approvals:
      refund_order: ../outside-evil.mjs#rule
`);
    writeFileSync(
      join(approvalRule, '..', 'tools.ts'),
      readFileSync(toolsFile, 'utf8').replace('../../src/', '../../../src/'),
    );
    const error = await refusal(approvalRule);
    expect(error.problems[0]).toMatchObject({
      line: 10,
      column: 21,
      path: 'agents[0].approvals.refund_order',
    });
    expect(error.message).toContain(`refused to load ../outside-evil.mjs: it resolves to ${outside}`);
    expect(ran()).toBeUndefined();
  });

  it('refuses a link inside the folder that points outside it', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ./linked.mjs\nagents:\n  - name: a\n    instructions: x\n',
    );
    symlinkSync(outside, join(file, '..', 'linked.mjs'));
    expect((await refusal(file)).message).toContain('tools: refused to load ./linked.mjs');
    expect(ran()).toBeUndefined();
  });

  it('loads from a folder the user allows, by option or by BATON_ALLOW_MODULES_FROM', async () => {
    const file = teamFile(
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\ntools: ../tools.ts\nagents:\n  - name: a\n    instructions: x\n    tools: [lookup_order]\n',
    );
    const byOption = await loadTeamFile(file, {
      env: { OPENAI_API_KEY: 'k' },
      allowModulesFrom: [workspace],
    });
    expect([...byOption.tools.keys()]).toEqual(['lookup_order', 'refund_order']);
    const byEnvironment = await loadTeamFile(file, {
      env: { OPENAI_API_KEY: 'k', BATON_ALLOW_MODULES_FROM: relative(process.cwd(), workspace) },
    });
    expect([...byEnvironment.tools.keys()]).toEqual(['lookup_order', 'refund_order']);
  });
});
