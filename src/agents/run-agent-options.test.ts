import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BatonError } from '../core/errors.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { type Agent, type AnyTool, agent } from './agent.js';
import { transfer } from './handoff.js';
import { runAgent } from './run-agent.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });

const counted = (name: string, log: string[]) =>
  tool({
    name,
    description: `The ${name} tool`,
    input: z.object({ value: z.string() }),
    execute: ({ value }) => {
      log.push(`${name}(${value})`);
      return `${name} got ${value}`;
    },
  });

const lastToolMessage = (prompt: unknown[] | undefined) => JSON.stringify(prompt?.at(-1));

describe('runAgent extraTools', () => {
  it('offers extra tools to the model after its own tools, only to the agents it returns them for, and runs them', async () => {
    const rt = runtime();
    const log: string[] = [];
    const own = counted('own', log);
    const extra = counted('extra', log);
    const model = scriptedModel({
      helper: [{ text: 'helped' }],
      main: [
        {
          toolCalls: [
            { tool: 'extra', input: { value: 'a' } },
            { tool: 'own', input: { value: 'b' } },
          ],
        },
        { toolCalls: [{ tool: 'transfer_to_helper', input: {} }] },
      ],
    });
    const helper = agent({ name: 'helper', instructions: 'Help.', model });
    const main = agent({ name: 'main', instructions: 'Work.', model, tools: [own], handoffs: [helper] });
    const flow = workflow({ name: 'extra-flow' }, async (ctx, input: string) => {
      const result = await runAgent(ctx, main, input, {
        extraTools: (current: Agent<unknown>): readonly AnyTool[] => (current === main ? [extra] : []),
      });
      return result.output;
    });
    expect(await (await rt.start(flow, 'go')).result()).toBe('helped');
    expect(model.calls[0]?.tools?.map((entry) => entry.name)).toEqual(['own', 'extra', 'transfer_to_helper']);
    expect(model.calls[2]?.tools ?? []).toEqual([]);
    expect(log).toEqual(['extra(a)', 'own(b)']);
    expect(lastToolMessage(model.calls[1]?.prompt)).toContain('extra got a');
    await rt.close();
  });

  it('rejects an extra tool whose name clashes with one of the agent’s own tools with a ConfigError', async () => {
    const rt = runtime();
    const model = scriptedModel([{ text: 'never called' }]);
    const own = counted('lookup', []);
    const clash = counted('lookup', []);
    const main = agent({ name: 'main', instructions: 'Work.', model, tools: [own] });
    const flow = workflow({ name: 'clash-flow' }, async (ctx, input: string) => {
      return (await runAgent(ctx, main, input, { extraTools: () => [clash] })).output;
    });
    const error = await (await rt.start(flow, 'go')).result().catch((caught: unknown) => caught);
    // The run's stored error keeps the class name, code and fault of the ConfigError thrown.
    expect(error).toMatchObject({ name: 'ConfigError', code: 'CONFIG', fault: 'user' });
    expect((error as BatonError).message).toContain(
      'agent("main"): two tools offered to the model are named "lookup"',
    );
    expect(model.calls).toHaveLength(0);

    const billing = agent({ name: 'billing', instructions: 'x', model });
    const router = agent({ name: 'router', instructions: 'x', model, handoffs: [transfer(billing)] });
    const handoffClash = workflow({ name: 'handoff-clash-flow' }, async (ctx, input: string) => {
      return (await runAgent(ctx, router, input, { extraTools: () => [counted('transfer_to_billing', [])] }))
        .output;
    });
    await expect((await rt.start(handoffClash, 'go')).result()).rejects.toThrow(
      /two tools offered to the model are named "transfer_to_billing"/,
    );
    await rt.close();
  });
});

describe('runAgent beforeToolCall', () => {
  it('denies a call with a message the model gets as the tool error; the tool does not run', async () => {
    const rt = runtime();
    const log: string[] = [];
    const safe = counted('safe', log);
    const risky = counted('risky', log);
    const seen: string[] = [];
    const model = scriptedModel([
      {
        toolCalls: [
          { tool: 'risky', input: { value: 'drop table' } },
          { tool: 'safe', input: { value: 'select' } },
        ],
      },
      { text: 'done' },
    ]);
    const main = agent({ name: 'main', instructions: 'Work.', model, tools: [risky, safe] });
    const flow = workflow({ name: 'deny-flow' }, async (ctx, input: string) => {
      const result = await runAgent(ctx, main, input, {
        beforeToolCall: (current, called, toolInput) => {
          seen.push(`${current.name}:${called.name}:${(toolInput as { value: string }).value}`);
          return called.name === 'risky' ? 'Not allowed: risky needs approval.' : undefined;
        },
      });
      return result.output;
    });
    const handle = await rt.start(flow, 'go');
    expect(await handle.result()).toBe('done');
    expect(seen).toEqual(['main:risky:drop table', 'main:safe:select']);
    expect(log).toEqual(['safe(select)']);
    const results = model.calls[1]?.prompt.at(-1);
    expect(results?.role).toBe('tool');
    const outputs =
      results?.role === 'tool'
        ? results.content.map((part) => (part.type === 'tool-result' ? part.output : part.type))
        : [];
    expect(outputs).toEqual([
      { type: 'error-text', value: 'Not allowed: risky needs approval.' },
      { type: 'text', value: 'safe got select' },
    ]);
    const journal = await rt.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual(['model:main', 'tool:safe', 'model:main']);
    await rt.close();
  });

  it('is not asked about calls with invalid arguments (those fail validation first)', async () => {
    const rt = runtime();
    const asked: string[] = [];
    const model = scriptedModel([{ toolCalls: [{ tool: 'safe', input: { value: 7 } }] }, { text: 'ok' }]);
    const main = agent({ name: 'main', instructions: 'Work.', model, tools: [counted('safe', [])] });
    const flow = workflow({ name: 'invalid-flow' }, async (ctx, input: string) => {
      const result = await runAgent(ctx, main, input, {
        beforeToolCall: (_agent, called) => {
          asked.push(called.name);
          return undefined;
        },
      });
      return result.output;
    });
    expect(await (await rt.start(flow, 'go')).result()).toBe('ok');
    expect(asked).toEqual([]);
    expect(lastToolMessage(model.calls[1]?.prompt)).toContain('Invalid arguments for safe');
    await rt.close();
  });
});

describe('runAgent turnCounter', () => {
  it('continues an agent’s turn numbers across sequential runAgent calls that share a map', async () => {
    const rt = runtime();
    const model = scriptedModel({
      writer: [{ text: 'draft one' }, { text: 'draft two' }, { text: 'draft three' }],
    });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const flow = workflow({ name: 'turns-flow' }, async (ctx, input: string) => {
      const turns = new Map<string, number>();
      const first = await runAgent(ctx, writer, input, { turnCounter: turns });
      const second = await runAgent(ctx, writer, `Revise: ${first.output}`, { turnCounter: turns });
      return { outputs: [first.output, second.output], counted: turns.get('writer') };
    });
    expect(await (await rt.start(flow, 'essay')).result()).toEqual({
      outputs: ['draft one', 'draft two'],
      counted: 2,
    });
    const turnsSent = model.calls.map(
      (call) => (call.providerOptions?.baton as { turn?: number } | undefined)?.turn,
    );
    expect(turnsSent).toEqual([0, 1]);
    await rt.close();
  });

  it('starts again at turn 0 for each call without a shared map', async () => {
    const rt = runtime();
    const model = scriptedModel({ writer: [{ text: 'draft one' }, { text: 'draft two' }] });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const flow = workflow({ name: 'fresh-turns-flow' }, async (ctx, input: string) => {
      const first = await runAgent(ctx, writer, input);
      const second = await runAgent(ctx, writer, `Revise: ${first.output}`);
      return [first.output, second.output];
    });
    expect(await (await rt.start(flow, 'essay')).result()).toEqual(['draft one', 'draft one']);
    await rt.close();
  });
});
