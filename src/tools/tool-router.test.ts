import type { EmbeddingModelV3, LanguageModelV3Message } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { type Tool, tool } from './tool.js';
import { tokenize } from './tool-index.js';
import { createToolRouter, type RoutedOffer } from './tool-router.js';

const objects = [
  'invoice',
  'customer',
  'order',
  'ticket',
  'shipment',
  'product',
  'employee',
  'meeting',
  'document',
  'repository',
  'issue',
  'deployment',
  'alert',
  'dashboard',
  'contract',
  'lead',
  'campaign',
  'subscription',
  'warehouse',
  'vehicle',
  'patient',
  'course',
  'playlist',
  'recipe',
  'flight',
];
const actions = {
  create: 'Creates a new',
  get: 'Reads one',
  list: 'Lists every',
  update: 'Changes fields of a',
  delete: 'Deletes a',
  archive: 'Archives an old',
  export: 'Exports to CSV a',
  import: 'Imports from a file a',
  assign: 'Assigns to a person a',
  find: 'Finds by keyword a',
  share: 'Shares with a team a',
  restore: 'Restores a deleted',
};

/** 300 generated tools (12 actions x 25 objects) plus two distinctive ones. */
function registry(onRotate: () => unknown = () => 'rotated') {
  const tools: Tool<{ id: string }, string>[] = [];
  for (const object of objects) {
    for (const [action, phrase] of Object.entries(actions)) {
      tools.push(
        tool({
          name: `${action}_${object}`,
          description: `${phrase} ${object}.`,
          input: z.object({ id: z.string().describe(`The ${object} id`) }),
          execute: ({ id }) => `${action} ${object} ${id}`,
        }),
      );
    }
  }
  return [
    ...tools,
    tool({
      name: 'convert_currency',
      description:
        'Converts an amount of money between currencies (euros, US dollars, yen) at the exchange rate.',
      input: z.object({ amount: z.number(), from: z.string(), to: z.string() }),
      execute: ({ amount }) => `${amount * 1.1}`,
    }),
    tool({
      name: 'rotate_api_key',
      description: 'Rotates an API key: issues a new secret and revokes the leaked or old one.',
      input: z.object({ keyId: z.string().describe('Which credential') }),
      execute: () => onRotate() as string,
    }),
  ];
}

const user = (text: string): LanguageModelV3Message => ({ role: 'user', content: [{ type: 'text', text }] });

describe('createToolRouter', () => {
  const tools = registry();
  const router = createToolRouter(tools, { maxTools: 8 });

  it('ranks by BM25 over names, descriptions and schema properties', () => {
    expect(tools).toHaveLength(302);
    expect(router.search('delete the shipment', 3)[0]?.name).toBe('delete_shipment');
    expect(router.search('how much is 20 euros in dollars', 1)[0]?.name).toBe('convert_currency');
    // A schema property ("credential") is searchable too.
    expect(router.search('credential', 1)[0]?.name).toBe('rotate_api_key');
    expect(router.search('zebra crossing')).toEqual([]);
  });

  it('offers the best few for the latest messages, and keeps tools outside the registry', () => {
    const handoff = {
      type: 'function' as const,
      name: 'transfer_to_billing',
      inputSchema: { type: 'object' as const },
    };
    const base = { own: tools, tools: [...tools.map(functionTool), handoff] };
    const routed = router.route(base, [
      user('Please delete the shipment SH-4, it was sent twice.'),
    ]) as RoutedOffer;
    expect(routed.offered).toHaveLength(8);
    expect(routed.offered).toContain('delete_shipment');
    expect(routed.tools.map((entry) => entry.name)).toEqual([
      ...routed.offered,
      'transfer_to_billing',
      'search_tools',
    ]);
    expect(routed.own.map((entry) => entry.name)).toContain('search_tools');
    expect(routed.own).toHaveLength(303);
    // Same messages, same choice.
    expect(
      (router.route(base, [user('Please delete the shipment SH-4, it was sent twice.')]) as RoutedOffer)
        .offered,
    ).toEqual(routed.offered);
  });

  it('splits camelCase, snake_case and kebab-case and drops stop words', () => {
    expect(tokenize('getSum of the api_keys and rotate-keys')).toEqual([
      'get',
      'sum',
      'api',
      'key',
      'rotate',
      'key',
    ]);
  });

  it('finds tools described in any script, not only ASCII', () => {
    const write = (name: string, description: string) =>
      tool({ name, description, input: z.object({ id: z.string() }), execute: () => 'ok' });
    const international = createToolRouter([
      ...tools,
      write('refund_ru', 'Оформляет возврат платежа клиенту.'),
      write('refund_de', 'Erstellt eine Rückerstattung für die Bestellung.'),
      write('invoice_el', 'Εκδίδει τιμολόγιο για τον πελάτη.'),
      write('invoice_hi', 'ग्राहक के लिए चालान बनाता है।'),
    ]);
    expect(international.search('возврат платежа', 1)[0]?.name).toBe('refund_ru');
    expect(international.search('Rückerstattung', 1)[0]?.name).toBe('refund_de');
    expect(international.search('τιμολόγιο', 1)[0]?.name).toBe('invoice_el');
    // Devanagari vowel signs are combining marks: a word must not fall apart at them.
    expect(international.search('चालान', 1)[0]?.name).toBe('invoice_hi');
    expect(tokenize('Возврат ПЛАТЕЖА')).toEqual(['возврат', 'платежа']);
  });

  it('rejects bad options naming the option', () => {
    expect(() => createToolRouter(tools, { maxTools: 0 }, 'agent("a")')).toThrow(
      /agent\("a"\): toolRouting.maxTools must be an integer >= 1/,
    );
    expect(() => createToolRouter(tools, { alwaysOffer: ['nope'] })).toThrow(/alwaysOffer names "nope"/);
    expect(() => createToolRouter([...tools, router.searchTool])).toThrow(/searchToolName/);
  });
});

describe('an agent with toolRouting', () => {
  it('offers the right tool for the request and records the offer on the model step', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(({ turn }) =>
      turn === 0
        ? { toolCalls: [{ tool: 'convert_currency', input: { amount: 20, from: 'EUR', to: 'USD' } }] }
        : { text: 'About 22 dollars.' },
    );
    const assistant = agent({
      name: 'assistant',
      instructions: 'Help.',
      model,
      tools: registry(),
      toolRouting: { maxTools: 8 },
    });
    const handle = await runtime.start(assistant, 'How much is 20 euros in US dollars?');
    expect(await handle.result()).toBe('About 22 dollars.');
    const offered = model.calls[0]!.tools!.map((entry) => entry.name);
    expect(offered.length).toBeLessThanOrEqual(9);
    expect(offered).toContain('convert_currency');
    expect(offered.at(-1)).toBe('search_tools');
    const journal = await runtime.journal(handle.runId);
    expect(journal[0]!.meta?.offeredTools).toEqual(offered);
    await runtime.close();
  });

  it('lets the model find an unoffered tool with search_tools; it is offered from the next turn', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(
      ({ turn }) =>
        [
          { toolCalls: [{ tool: 'search_tools', input: { query: 'revoke a leaked api key' } }] },
          { toolCalls: [{ tool: 'rotate_api_key', input: { keyId: 'k-1' } }] },
          { text: 'Key rotated.' },
        ][turn]!,
    );
    const assistant = agent({
      name: 'assistant',
      instructions: 'Help.',
      model,
      tools: registry(),
      toolRouting: { maxTools: 8 },
    });
    const handle = await runtime.start(assistant, 'Handle the security incident from this morning.');
    expect(await handle.result()).toBe('Key rotated.');
    const offeredPerTurn = model.calls.map((call) => call.tools!.map((entry) => entry.name));
    expect(offeredPerTurn[0]).not.toContain('rotate_api_key');
    expect(offeredPerTurn[1]).toContain('rotate_api_key');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'model:assistant',
      'tool:search_tools',
      'model:assistant',
      'tool:rotate_api_key',
      'model:assistant',
    ]);
    expect((journal[1]!.result as { tools: { name: string }[] }).tools[0]?.name).toBe('rotate_api_key');
    await runtime.close();
  });

  it('ranks with embeddings when configured, journaling the choice as a step', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const embeddings = conceptEmbeddings();
    const model = scriptedModel(({ turn }) =>
      turn === 0 ? { toolCalls: [{ tool: 'rotate_api_key', input: { keyId: 'main' } }] } : { text: 'Done.' },
    );
    const assistant = agent({
      name: 'assistant',
      instructions: 'Help.',
      model,
      tools: registry(),
      toolRouting: { maxTools: 3, embedding: { model: embeddings } },
    });
    const request = 'Our password got exposed online.';
    // No word of the request appears in rotate_api_key's name, description or schema.
    expect(assistant.toolRouter!.search(request).map((hit) => hit.name)).not.toContain('rotate_api_key');
    const handle = await runtime.start(assistant, request);
    expect(await handle.result()).toBe('Done.');
    expect(model.calls[0]!.tools!.map((entry) => entry.name)).toContain('rotate_api_key');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'tools:assistant',
      'model:assistant',
      'tool:rotate_api_key',
      'tools:assistant',
      'model:assistant',
    ]);
    expect(journal[0]!.result).toContain('rotate_api_key');
    // Tool vectors are embedded once (302 texts), then one query per turn.
    expect(embeddings.embedded.map((values) => values.length).sort((x, y) => x - y)).toEqual([1, 1, 302]);
    await runtime.close();
  });

  it('offers the same tools when a crashed run is replayed from its journal', async () => {
    const store = createMemoryStore();
    let hang = true;
    let rotations = 0;
    const tools = registry(async () => {
      rotations++;
      if (hang) await new Promise(() => undefined);
      return 'rotated';
    });
    const model = scriptedModel(
      ({ turn }) =>
        [
          { toolCalls: [{ tool: 'search_tools', input: { query: 'revoke a leaked api key' } }] },
          { toolCalls: [{ tool: 'rotate_api_key', input: { keyId: 'k-1' } }] },
          { text: 'Key rotated.' },
        ][turn]!,
    );
    const assistant = agent({
      name: 'assistant',
      instructions: 'Help.',
      model,
      tools,
      toolRouting: { maxTools: 8 },
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(assistant, 'Handle the security incident from this morning.');
    while (rotations === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [assistant] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('Key rotated.');
    // Turns 0 and 1 replayed from the journal; only the last call is live, and it was offered
    // the tool found by the replayed search, exactly as recorded for turn 1.
    expect(model.calls).toHaveLength(3);
    const journal = await second.journal(handle.runId);
    const modelSteps = journal.filter((entry) => entry.name === 'model:assistant');
    expect(modelSteps.map((entry) => entry.meta?.offeredTools)).toEqual(
      model.calls.map((call) => call.tools!.map((entry) => entry.name)),
    );
    expect(modelSteps[2]!.meta?.offeredTools).toContain('rotate_api_key');
  });
});

/**
 * A small deterministic embedding model for the test: one dimension per concept, so words that
 * never appear in a tool's text ("password", "exposed") still land near it ("secret", "leaked").
 */
function conceptEmbeddings(): EmbeddingModelV3 & { embedded: string[][] } {
  const concepts = [
    ['key', 'secret', 'credential', 'password', 'token', 'leaked', 'exposed', 'revoke', 'rotate'],
    ['currency', 'euro', 'dollar', 'money', 'yen', 'exchange'],
    ['shipment', 'parcel', 'delivery', 'courier'],
    ['invoice', 'bill', 'payment'],
  ];
  const embedded: string[][] = [];
  return {
    specificationVersion: 'v3',
    provider: 'test',
    modelId: 'concepts',
    maxEmbeddingsPerCall: Number.POSITIVE_INFINITY,
    supportsParallelCalls: true,
    embedded,
    async doEmbed({ values }) {
      embedded.push(values);
      const embeddings = values.map((value) => {
        const words = tokenize(value);
        return [...concepts.map((group) => words.filter((word) => group.includes(word)).length), 0.01];
      });
      return { embeddings, warnings: [] };
    },
  };
}

function functionTool(entry: { name: string; description: string; jsonSchema: Tool['jsonSchema'] }) {
  return {
    type: 'function' as const,
    name: entry.name,
    description: entry.description,
    inputSchema: entry.jsonSchema,
  };
}
