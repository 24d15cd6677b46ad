import { tool as aiTool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AnyTool, agent } from '../src/agents/agent.js';
import type { BatonError } from '../src/core/errors.js';
import { workflow } from '../src/core/runnable.js';
import { createRuntime } from '../src/core/runtime.js';
import { blackboard } from '../src/memory/blackboard.js';
import { createMemory } from '../src/memory/memory.js';
import { memoryTools } from '../src/memory/memory-tools.js';
import { groupChat } from '../src/patterns/group-chat.js';
import { human } from '../src/patterns/human.js';
import { sequential } from '../src/patterns/sequential.js';
import { supervisor } from '../src/patterns/supervisor.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { scriptedModel } from '../src/testing/scripted-model.js';
import { tool } from '../src/tools/tool.js';

const model = scriptedModel(() => ({ text: 'ok' }));
const schema = z.object({ answer: z.string() });
const lookup = tool({
  name: 'lookup_order',
  description: 'Find an order',
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => ({ orderId }),
});

/** The error a factory throws, so its code and message can be checked together. */
function thrown(make: () => unknown): BatonError {
  try {
    make();
  } catch (error) {
    return error as BatonError;
  }
  throw new Error('expected the factory to throw');
}

describe('unknown options are errors with "did you mean"', () => {
  it("agent(): output under another library's name, and typos", () => {
    for (const foreign of ['outputType', 'outputSchema', 'structuredOutput']) {
      const error = thrown(() => agent({ name: 'a', instructions: 'x', model, [foreign]: schema } as never));
      expect(error.code).toBe('UNKNOWN_OPTION');
      expect(error.message).toMatch(
        new RegExp(
          `^agent\\("a"\\): unknown option "${foreign}"\\. Did you mean "output"\\? Known options: name, description, instructions, model, tools,`,
        ),
      );
    }
    expect(
      thrown(() => agent({ name: 'a', instructions: 'x', model, maxTurn: 3 } as never)).message,
    ).toContain('unknown option "maxTurn". Did you mean "maxTurns"?');
  });

  it("tool(): input under the AI SDK's names", () => {
    for (const foreign of ['inputSchema', 'parameters']) {
      const error = thrown(() =>
        tool({ name: 't', description: 'd', execute: () => 1, [foreign]: schema } as never),
      );
      expect(error.code).toBe('UNKNOWN_OPTION');
      expect(error.message).toContain(`tool("t"): unknown option "${foreign}". Did you mean "input"?`);
    }
  });

  it('workflow(), createRuntime() and the pattern functions', () => {
    expect(
      thrown(() => workflow({ name: 'w', inputSchema: schema } as never, async () => 1)).message,
    ).toContain('workflow "w": unknown option "inputSchema". Did you mean "input"?');
    expect(thrown(() => createRuntime({ stor: createMemoryStore() } as never)).message).toContain(
      'createRuntime(): unknown option "stor". Did you mean "store"?',
    );
    const member = agent({ name: 'm', instructions: 'x', model });
    expect(thrown(() => sequential({ name: 's', steps: [member] } as never)).message).toContain(
      'sequential("s"): unknown option "steps". Did you mean "stages"?',
    );
    expect(
      thrown(() => supervisor({ name: 's', manager: member, worker: [member] } as never)).message,
    ).toContain('supervisor("s"): unknown option "worker". Did you mean "workers"?');
    expect(thrown(() => groupChat({ name: 'g', members: [member], maxRound: 2 } as never)).message).toContain(
      'groupChat("g"): unknown option "maxRound". Did you mean "maxRounds"?',
    );
    expect(thrown(() => human({ name: 'h', timeout: 5 } as never)).message).toContain(
      'human("h"): unknown option "timeout". Did you mean "timeoutMs"?',
    );
  });
});

describe('agent tools as a record, the way AI SDK users write them', () => {
  it('accepts a record of tools keyed by tool name and runs them', async () => {
    const calls = scriptedModel([
      { toolCalls: [{ tool: 'lookup_order', input: { orderId: 'A-1' } }] },
      { text: 'Found A-1.' },
    ]);
    const support = agent({
      name: 'support',
      instructions: 'Help.',
      model: calls,
      tools: { lookup_order: lookup },
    });
    expect(support.tools.map((entry) => entry.name)).toEqual(['lookup_order']);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(support, 'Where is A-1?');
    expect(await handle.result()).toBe('Found A-1.');
    expect(JSON.stringify(calls.calls[1]?.prompt)).toContain('"orderId":"A-1"');
    await runtime.close();
  });

  it('says what is wrong with a record it cannot take', () => {
    expect(
      thrown(() => agent({ name: 'a', instructions: 'x', model, tools: { lookup: lookup } })).message,
    ).toBe(
      'agent("a"): tools.lookup is the tool named "lookup_order"; in a tools record each key must be its tool\'s name (the name the model calls). Use "lookup_order" as the key, or pass a list.',
    );
    // AI SDK tools are accepted in a record (tests/ai-sdk-interop.test.ts); other objects are not tools.
    expect(
      thrown(() =>
        agent({ name: 'a', instructions: 'x', model, tools: { lookup_order: { run: () => 1 } as never } }),
      ).message,
    ).toBe(
      'agent("a"): tools.lookup_order is not a tool (create it with tool() from baton, or with tool() from \'ai\' in a tools record).',
    );
    const sdkTool = aiTool({ description: 'd', inputSchema: schema, execute: async () => 1 });
    expect(
      thrown(() => agent({ name: 'a', instructions: 'x', model, tools: [sdkTool as unknown as AnyTool] }))
        .message,
    ).toContain('agent("a"): tools[0] is an AI SDK tool, which has no name of its own');
    expect(
      thrown(() => agent({ name: 'a', instructions: 'x', model, tools: 'lookup_order' as never })).message,
    ).toBe('agent("a"): tools must be a list of tools or a record of them by name.');
  });
});

describe('unknown options of runtime.start, memoryTools and blackboard', () => {
  it('runtime.start() refuses a typo in its options before storing a run', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false });
    const flow = workflow({ name: 'typo-start', version: '1' }, async () => 'done');
    const error = await runtime.start(flow, {}, { threadID: 'thread-1' } as never).then(
      () => undefined,
      (caught: BatonError) => caught,
    );
    expect(error?.code).toBe('UNKNOWN_OPTION');
    expect(error?.message).toContain(
      'runtime.start("typo-start"): unknown option "threadID". Did you mean "threadId"?',
    );
    expect(await store.listRuns()).toEqual([]);
    await runtime.close();
  });

  it('memoryTools() and blackboard() refuse typos with the option meant', () => {
    const memory = createMemory();
    const memoryError = thrown(() => memoryTools(memory, { limt: 3 } as never));
    expect(memoryError.code).toBe('UNKNOWN_OPTION');
    expect(memoryError.message).toContain('memoryTools(): unknown option "limt". Did you mean "limit"?');
    const boardError = thrown(() =>
      blackboard({
        name: 'plan',
        schema: z.object({ steps: z.array(z.string()) }),
        initial: { steps: [] },
        prefix: 'plan',
      } as never),
    );
    expect(boardError.code).toBe('UNKNOWN_OPTION');
    expect(boardError.message).toContain(
      'blackboard("plan"): unknown option "prefix". Did you mean "toolPrefix"?',
    );
  });
});
