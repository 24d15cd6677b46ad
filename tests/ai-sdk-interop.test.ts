import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import {
  tool as aiTool,
  createProviderRegistry,
  customProvider,
  jsonSchema,
  type ToolExecutionOptions,
} from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../src/agents/agent.js';
import { createRuntime } from '../src/core/runtime.js';
import { registerModelProvider, resolveModel } from '../src/models/resolve-model.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { scriptedModel } from '../src/testing/scripted-model.js';
import { createStubServer, type StubServer } from '../src/testing/stub-server.js';
import { fromAiSdkTool } from '../src/tools/ai-sdk-tool.js';

let stub: StubServer;
beforeAll(async () => {
  stub = await createStubServer();
});
afterAll(async () => {
  await stub.close();
});

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });

/** The error a factory throws. */
function thrown(make: () => unknown): Error {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
}

describe('AI SDK tools as agent tools', () => {
  it('runs a tool() from ai given in a record, passing its execute the AI SDK options', async () => {
    const seen: { input: unknown; options: ToolExecutionOptions }[] = [];
    const weather = aiTool({
      description: 'Current weather in a city',
      inputSchema: z.object({ city: z.string().describe('City name') }),
      execute: async (input, options) => {
        seen.push({ input, options: { ...options, messages: options.messages } });
        return { city: input.city, celsius: 4 };
      },
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'get_weather', input: { city: 'Oslo' } }] },
      { text: 'It is 4 °C in Oslo.' },
    ]);
    const assistant = agent({
      name: 'assistant',
      instructions: 'Help.',
      model,
      tools: { get_weather: weather },
    });
    expect(assistant.tools.map((entry) => entry.name)).toEqual(['get_weather']);
    const handle = await runtime().start(assistant, 'Weather in Oslo?');
    expect(await handle.result()).toBe('It is 4 °C in Oslo.');

    // The model was offered the tool with its description and JSON Schema.
    expect(model.calls[0]?.tools).toEqual([
      {
        type: 'function',
        name: 'get_weather',
        description: 'Current weather in a city',
        inputSchema: expect.objectContaining({
          type: 'object',
          properties: { city: { type: 'string', description: 'City name' } },
          required: ['city'],
        }),
      },
    ]);
    expect(seen).toHaveLength(1);
    const [call] = seen;
    expect(call?.input).toEqual({ city: 'Oslo' });
    expect(call?.options.toolCallId).toMatch(/\S/);
    expect(call?.options.abortSignal).toBeInstanceOf(AbortSignal);
    // As the AI SDK gives them: the conversation before the assistant message holding the call.
    expect(call?.options.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
    ]);
    // The tool's result went back to the model.
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('"celsius":4');
  });

  it('checks calls against a jsonSchema() schema and runs its validate before execute', async () => {
    const received: unknown[] = [];
    const double = aiTool({
      description: 'Doubles a number',
      inputSchema: jsonSchema<{ n: number }>(
        { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        {
          validate: async (value) => {
            const n = (value as { n: number }).n;
            return n >= 0
              ? { success: true, value: { n: n * 10 } }
              : { success: false, error: new Error('n must not be negative') };
          },
        },
      ),
      execute: async (input) => {
        received.push(input);
        return String(input.n * 2);
      },
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'double', input: { n: 'two' } }] },
      { toolCalls: [{ tool: 'double', input: { n: -1 } }] },
      { toolCalls: [{ tool: 'double', input: { n: 2 } }] },
      { text: 'done' },
    ]);
    const calculator = agent({ name: 'calculator', instructions: 'Compute.', model, tools: { double } });
    expect(calculator.tools[0]?.jsonSchema).toEqual({
      type: 'object',
      properties: { n: { type: 'number' } },
      required: ['n'],
    });
    const handle = await runtime().start(calculator, 'Double 2');
    expect(await handle.result()).toBe('done');
    // The JSON Schema check refused a string; validate refused a negative number and transformed the good call.
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('Invalid arguments for double');
    expect(JSON.stringify(model.calls[2]?.prompt)).toContain('n must not be negative');
    expect(received).toEqual([{ n: 20 }]);
    expect(JSON.stringify(model.calls[3]?.prompt)).toContain('"40"');
  });

  it('takes the last value of a streaming execute, maps needsApproval, and adds Baton settings with fromAiSdkTool', () => {
    const streaming = aiTool({
      description: 'Counts up',
      inputSchema: z.object({}),
      needsApproval: true,
      async *execute() {
        yield 'one';
        yield 'two';
      },
    });
    const converted = fromAiSdkTool('count', streaming, { idempotent: true, capabilities: ['read'] });
    expect(converted).toMatchObject({
      name: 'count',
      approval: 'always',
      idempotent: true,
      capabilities: ['read'],
    });
    return expect(
      Promise.resolve(
        converted.execute(
          {},
          {
            runId: 'r',
            agent: 'a',
            toolCallId: 'c',
            idempotencyKey: 'k',
            signal: new AbortController().signal,
          },
        ),
      ),
    ).resolves.toBe('two');
  });

  it('refuses AI SDK tools it cannot run, naming the agent and the tool', () => {
    const model = scriptedModel([]);
    const define = (tools: never) => thrown(() => agent({ name: 'a', instructions: 'x', model, tools }));
    expect(define({ lookup: { description: 'Finds', execute: async () => 1 } } as never).message).toBe(
      'agent("a"): tools.lookup: the AI SDK tool "lookup" has no inputSchema; give it one, e.g. inputSchema: z.object({ city: z.string() }) or jsonSchema({ type: \'object\', properties: { ... } }).',
    );
    expect(
      define({ lookup: aiTool({ description: 'Finds', inputSchema: z.object({ id: z.string() }) }) } as never)
        .message,
    ).toMatch(
      /^agent\("a"\): tools\.lookup: the AI SDK tool "lookup" has no execute function\..*not supported/,
    );
    expect(
      define({ lookup: aiTool({ inputSchema: z.object({}), execute: async () => 1 }) } as never).message,
    ).toBe(
      'agent("a"): tools.lookup: the AI SDK tool "lookup" has no description; the model chooses tools by it.',
    );
    expect(
      define({
        search: { type: 'provider', id: 'openai.web_search', args: {}, inputSchema: z.object({}) },
      } as never).message,
    ).toMatch(/tools\.search: the AI SDK tool "search" is provider-defined \(openai\.web_search\)/);
    expect(
      define({ lookup: { description: 'Finds', inputSchema: 'id: string', execute: async () => 1 } } as never)
        .message,
    ).toMatch(/tools\.lookup: the AI SDK tool "lookup" has an inputSchema Baton cannot read \(string\)/);
    expect(
      define({
        lookup: aiTool({
          description: 'Finds',
          inputSchema: jsonSchema(Promise.resolve({ type: 'object' as const })),
          execute: async () => 1,
        }),
      } as never).message,
    ).toMatch(/JSON Schema is a promise; Baton needs it when the agent is defined/);
  });
});

describe('models named by provider/model and by an AI SDK provider registry', () => {
  it('reads provider/model as provider:model', async () => {
    const scripted = scriptedModel([{ text: 'hi' }]);
    registerModelProvider('scripted', () => scripted);
    const greeter = agent({ name: 'greeter', instructions: 'Greet.', model: 'scripted/any-model' });
    expect(greeter.model).toBe('scripted:any-model');
    expect(
      agent({ name: 'b', instructions: 'x', model: ['ollama/llama3.1:8b', 'openai:gpt-4o'] }).models,
    ).toEqual(['ollama:llama3.1:8b', 'openai:gpt-4o']);
    expect(await resolveModel('scripted/other')).toBe(scripted);
    expect(await (await runtime().start(greeter, 'Hello')).result()).toBe('hi');
  });

  it('resolves model strings through a registered createProviderRegistry registry, over HTTP', async () => {
    stub.reset();
    stub.enqueue({ text: 'Hello from the stub.' });
    registerModelProvider(
      createProviderRegistry({
        stub: createOpenAICompatible({ baseURL: stub.url, name: 'stub', includeUsage: true }),
        offline: customProvider({ languageModels: { fixed: scriptedModel([{ text: 'fixed' }]) } }),
      }),
    );
    const remote = agent({ name: 'remote', instructions: 'Greet.', model: 'stub/stub-model' });
    expect(await (await runtime().start(remote, 'Hi')).result()).toBe('Hello from the stub.');
    expect(stub.requests[0]?.body.model).toBe('stub-model');
    const offline = agent({ name: 'offline', instructions: 'Greet.', model: 'offline:fixed' });
    expect(await (await runtime().start(offline, 'Hi')).result()).toBe('fixed');
  });

  it('says which provider is unknown, listing the built-in ones and the registry’s', () => {
    registerModelProvider(createProviderRegistry({ mine: customProvider({ languageModels: {} }) }));
    const error = thrown(() => resolveModel('nope:gpt-4o'));
    expect(error.message).toMatch(
      /^Unknown model provider "nope" in "nope:gpt-4o"\. Known: openai, anthropic, google/,
    );
    expect(error.message).toMatch(/Registered provider registries know: .*\bmine\b/);
    expect(thrown(() => resolveModel('nope/gpt-4o')).message).toMatch(
      /Unknown model provider "nope" in "nope\/gpt-4o"/,
    );
    expect(thrown(() => registerModelProvider({} as never)).message).toMatch(
      /must be an AI SDK provider registry/,
    );
  });

  it('refuses a model of another specification version, saying which', () => {
    const v2 = { specificationVersion: 'v2', provider: 'old', modelId: 'm', doGenerate: async () => ({}) };
    expect(thrown(() => resolveModel(v2 as unknown as LanguageModelV3)).message).toMatch(
      /Model old:m implements the AI SDK language model specification v2, and Baton calls models through v3: .*AI SDK 5/,
    );
  });
});

describe('structured output on the wire', () => {
  const output = z.object({ urgent: z.boolean(), reason: z.string() });

  it('sends the output schema as response_format json_schema to OpenAI-compatible models, with no repair turn', async () => {
    stub.reset();
    process.env.OPENAI_COMPATIBLE_BASE_URL = stub.url;
    stub.enqueue({ text: '{"urgent":true,"reason":"the server is down"}' });
    const triage = agent({
      name: 'triage',
      instructions: 'Triage.',
      model: 'openai-compatible:stub-model',
      output,
    });
    const result = await (await runtime().start(triage, 'The server is down!')).result();
    expect(result).toEqual({ urgent: true, reason: 'the server is down' });
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'triage_output',
        strict: true,
        schema: {
          type: 'object',
          properties: { urgent: { type: 'boolean' }, reason: { type: 'string' } },
          required: ['urgent', 'reason'],
          additionalProperties: false,
        },
      },
    });
  });

  it('keeps the repair turn for a model that ignores the schema', async () => {
    stub.reset();
    stub.enqueue({ text: 'Yes, it is urgent.' }, { text: '{"urgent":true,"reason":"down"}' });
    const model = createOpenAICompatible({
      baseURL: stub.url,
      name: 'stub',
      supportsStructuredOutputs: true,
    }).chatModel('stub-model');
    const triage = agent({ name: 'triage', instructions: 'Triage.', model, output });
    const result = await (await runtime().start(triage, 'The server is down!')).result();
    expect(result).toEqual({ urgent: true, reason: 'down' });
    expect(stub.requests).toHaveLength(2);
    expect(stub.requests[1]?.body.response_format?.type).toBe('json_schema');
    expect(JSON.stringify(stub.requests[1]?.body.messages.at(-1))).toContain(
      'does not match the required output schema',
    );
  });
});
