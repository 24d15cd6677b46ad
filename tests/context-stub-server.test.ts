import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countTokens } from '../src/context/tokens.js';
import { agent, type BatonEvent, createMemoryStore, createRuntime, tool } from '../src/index.js';
import { createStubServer, type StubChatRequest, type StubServer } from '../src/testing/index.js';

// The context guard in front of the real AI SDK OpenAI-compatible client, over HTTP, against the stub server.
let stub: StubServer;
beforeAll(async () => {
  stub = await createStubServer({ models: ['gpt-4o-mini'] });
});
afterAll(async () => {
  await stub.close();
});

/** Tokens of a request as it went over the wire: message texts, tool calls and tool definitions (o200k, as gpt-4o-mini). */
function wireTokens(body: StubChatRequest): number {
  let tokens = 3;
  for (const message of body.messages) {
    const content =
      typeof message.content === 'string'
        ? message.content
        : (message.content ?? []).map((part) => part.text ?? '').join('');
    const calls = (message.tool_calls ?? [])
      .map((call) => `${call.function.name} ${call.function.arguments}`)
      .join('\n');
    tokens += countTokens(`${content}\n${calls}`, 'gpt-4o-mini') + 4;
  }
  for (const entry of body.tools ?? [])
    tokens +=
      countTokens(
        `${entry.function.name} ${entry.function.description ?? ''} ${JSON.stringify(entry.function.parameters)}`,
        'gpt-4o-mini',
      ) + 4;
  return tokens;
}

const inventory = tool({
  name: 'stock_level',
  description: 'Stock level of one product in every warehouse',
  input: z.object({ sku: z.string() }),
  execute: ({ sku }) =>
    ['Lyon', 'Porto', 'Gdansk', 'Leeds', 'Turin']
      .map(
        (city, index) =>
          `${city}: ${sku} ${17 * index + sku.length} units, next delivery in ${index + 2} days`,
      )
      .join('; '),
});

describe('context guard against the stub server', () => {
  it('keeps every request of a 60-turn tool loop under the limit by compacting through the same HTTP model', async () => {
    stub.reset();
    let turn = 0;
    stub.setHandler(({ body }) => {
      const system = body.messages[0];
      if (typeof system?.content === 'string' && system.content.startsWith('Summarize the conversation'))
        return { text: `- stock levels checked for ${body.messages.length} messages; all warehouses answer` };
      turn++;
      return turn <= 60
        ? { toolCalls: [{ name: 'stock_level', arguments: { sku: `SKU-${turn}` } }] }
        : { text: 'Stock checked for 60 products.' };
    });
    const model = createOpenAICompatible({ baseURL: stub.url, name: 'stub', includeUsage: true }).chatModel(
      'gpt-4o-mini',
    );
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const planner = agent({
      name: 'planner',
      instructions: 'Check the stock of each product with stock_level, one at a time.',
      model,
      tools: [inventory],
      maxTurns: 70,
      context: { history: 'compact', contextWindow: 2_000, reserveOutputTokens: 400 },
    });
    const handle = await runtime.start(planner, 'Check stock for SKU-1 to SKU-60.');
    expect(await handle.result()).toBe('Stock checked for 60 products.');
    const agentRequests = stub.requests.filter(
      (request) => !String(request.body.messages[0]?.content).startsWith('Summarize the conversation'),
    );
    expect(agentRequests).toHaveLength(61);
    // The guard counted tool names with the results, so the wire count is at most its count.
    for (const request of agentRequests) expect(wireTokens(request.body)).toBeLessThanOrEqual(1_600);
    const summaries = stub.requests.length - agentRequests.length;
    expect(summaries).toBeGreaterThanOrEqual(3);
    expect(
      events.filter((event) => event.type === 'context-trimmed' && event.actions.includes('compacted')),
    ).toHaveLength(summaries);
    await runtime.close();
  });
});
