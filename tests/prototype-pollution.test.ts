import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../src/agents/agent.js';
import { BatonError } from '../src/core/errors.js';
import { workflow } from '../src/core/runnable.js';
import { createRuntime } from '../src/core/runtime.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { loadTeamFile, TeamFileError } from '../src/team/index.js';
import { scriptedModel } from '../src/testing/scripted-model.js';
import { tool } from '../src/tools/tool.js';

/** The kind of deep merge user code writes, which copies whatever keys it is given. */
function naiveMerge(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
): Record<string, unknown> {
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typeof value === 'object' && value !== null) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      naiveMerge(target[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = value;
  }
  return target;
}

const attack = '{"__proto__":{"polluted":true}}';
const polluted = () => ({}) as Record<string, unknown>;

afterEach(() => {
  // Clean up after a failing run so one leak does not hide the next test's result.
  delete (Object.prototype as Record<string, unknown>).polluted;
});

mkdirSync(join(import.meta.dirname, '..', '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(import.meta.dirname, '..', '.tmp', 'pollution-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('prototype pollution: __proto__, constructor and prototype are refused where JSON comes in', () => {
  it('tool arguments from the model: the tool never runs and the model is told which key', async () => {
    const settings: Record<string, unknown> = {};
    let calls = 0;
    const configure = tool({
      name: 'configure',
      description: 'Merges settings',
      input: z.object({ changes: z.unknown() }),
      execute: ({ changes }) => {
        calls++;
        naiveMerge(settings, changes as Record<string, unknown>);
        return 'ok';
      },
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'configure', input: { changes: JSON.parse(attack) } }] },
      { text: 'Could not.' },
    ]);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const admin = agent({ name: 'admin', instructions: 'Configure.', model, tools: [configure] });
    const handle = await runtime.start(admin, 'Set it.');
    expect(await handle.result()).toBe('Could not.');
    expect(polluted().polluted).toBeUndefined();
    expect(calls).toBe(0);
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain(
      'Invalid arguments for configure: arguments refused, the key \\"__proto__\\" at /changes/__proto__ is not allowed',
    );
    await runtime.close();
  });

  it('structured output: a final answer with such a key is sent back for repair, never returned', async () => {
    const model = scriptedModel([
      { text: '{"profile":{"constructor":{"prototype":{"polluted":true}}}}' },
      { text: '{"profile":{"name":"ada"}}' },
    ]);
    const profiler = agent({
      name: 'profiler',
      instructions: 'Answer in JSON.',
      model,
      output: z.object({ profile: z.record(z.string(), z.unknown()) }),
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(profiler, 'Who?');
    const result = await handle.result();
    expect(result).toEqual({ profile: { name: 'ada' } });
    naiveMerge({}, result as Record<string, unknown>);
    expect(polluted().polluted).toBeUndefined();
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain(
      'the key \\"constructor\\" at /profile/constructor is not allowed',
    );
    await runtime.close();
  });

  it('signal payloads: runtime.signal refuses the payload and the run keeps waiting', async () => {
    const flow = workflow({ name: 'settings-flow' }, async (ctx) => {
      const changes = await ctx.waitFor<Record<string, unknown>>('changes');
      return naiveMerge({}, changes);
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false, workflows: [flow] });
    const handle = await runtime.start(flow, undefined);
    while ((await runtime.get(handle.runId)).status !== 'suspended')
      await new Promise((resolve) => setTimeout(resolve, 1));
    const error = await runtime.signal(handle.runId, 'changes', JSON.parse(attack)).catch((caught) => caught);
    expect(BatonError.isInstance(error) && error.code).toBe('FORBIDDEN_KEY');
    expect((error as Error).message).toBe(
      'signal(): the payload of "changes": the key "__proto__" at /__proto__ is not allowed (__proto__, constructor and prototype are refused to prevent prototype pollution); rename it.',
    );
    expect(polluted().polluted).toBeUndefined();
    expect((await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'changes', { theme: 'dark' });
    expect(await handle.result()).toEqual({ theme: 'dark' });
    await runtime.close();
  });

  it('team files: the key is refused with its file, line and column', async () => {
    const file = join(workspace, 'team.yaml');
    writeFileSync(
      file,
      `name: support
pattern: single
agents:
  - name: helper
    instructions: Help.
    output:
      type: object
      properties:
        __proto__:
          type: string
`,
    );
    const error = await loadTeamFile(file, { model: 'offline' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TeamFileError);
    expect((error as TeamFileError).problems[0]).toMatchObject({
      file: relative(process.cwd(), file),
      line: 9,
      column: 9,
      path: 'agents[0].output.properties.__proto__',
    });
    expect((error as Error).message).toContain(
      'the key "__proto__" at /agents/0/output/properties/__proto__ is not allowed',
    );
    expect(polluted().polluted).toBeUndefined();
  });
});
