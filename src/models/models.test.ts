import { afterEach, describe, expect, it } from 'vitest';
import { scriptedModel } from '../testing/scripted-model.js';
import { createModelProviders } from './model-providers.js';
import { costOf, createPriceTable, priceOf, registerPrices } from './pricing.js';
import { modelName, registerModelProvider, resolveModel } from './resolve-model.js';

describe('resolveModel', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it.each([
    ['openai:gpt-4o-mini', 'openai', 'gpt-4o-mini'],
    ['anthropic:claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5'],
    ['google:gemini-2.5-flash', 'google', 'gemini-2.5-flash'],
    ['ollama:llama3.2', 'ollama', 'llama3.2'],
  ])('resolves %s through the official provider package', async (spec, provider, modelId) => {
    const model = await resolveModel(spec);
    expect(model.specificationVersion).toBe('v3');
    expect(model.modelId).toBe(modelId);
    expect(modelName(model)).toBe(`${provider}:${modelId}`);
  });

  it('resolves openai-compatible models when OPENAI_COMPATIBLE_BASE_URL is set', async () => {
    process.env.OPENAI_COMPATIBLE_BASE_URL = 'http://127.0.0.1:9/v1';
    const model = await resolveModel('openai-compatible:qwen');
    expect(modelName(model)).toBe('openai-compatible:qwen');
  });

  it('explains what is wrong with a bad model string', () => {
    expect(() => resolveModel('gpt-4o')).toThrow(/not of the form "provider:model"/);
    expect(() => resolveModel('openai:')).toThrow(/not of the form "provider:model"/);
    expect(() => resolveModel('acme:large')).toThrow(
      /Unknown model provider "acme" in "acme:large". Known: openai, anthropic/,
    );
    expect(() => resolveModel({} as never)).toThrow(/must be an AI SDK LanguageModel/);
  });

  it('asks for the base URL when an openai-compatible model has none', async () => {
    delete process.env.OPENAI_COMPATIBLE_BASE_URL;
    await expect(resolveModel('openai-compatible:x')).rejects.toThrow(/needs OPENAI_COMPATIBLE_BASE_URL/);
  });

  it('accepts registered providers and model objects as they are', async () => {
    const model = scriptedModel([{ text: 'hi' }]);
    registerModelProvider('mine', () => model);
    expect(await resolveModel('mine:anything')).toBe(model);
    expect(resolveModel(model)).toBe(model);
  });
});

describe('pricing', () => {
  it('prices a call from the table, with cached input at its own rate', () => {
    expect(
      costOf('openai:gpt-4o-mini', { inputTokens: 1000, outputTokens: 200, totalTokens: 1200 }),
    ).toBeCloseTo(0.00027, 10);
    expect(
      costOf('openai:gpt-4o', { inputTokens: 1000, outputTokens: 0, totalTokens: 1000 }, 400),
    ).toBeCloseTo((600 * 2.5 + 400 * 1.25) / 1_000_000, 12);
  });

  it('falls back from dated model ids to their family and returns undefined for unknown models', () => {
    expect(priceOf('openai:gpt-4o-2024-08-06')).toEqual(priceOf('openai:gpt-4o'));
    expect(costOf('acme:secret', { inputTokens: 1, outputTokens: 1, totalTokens: 2 })).toBeUndefined();
  });

  it('prices models the old 11-entry table missed from the maintained catalogue (gpt-5, o3, newer Claudes), and leaves local models unpriced', () => {
    const call = { inputTokens: 1000, outputTokens: 100, totalTokens: 1100 };
    // List prices (USD per 1M tokens): gpt-5 1.25/10, o3 2/8, claude-opus-4-5 5/25.
    expect(costOf('openai:gpt-5', call)).toBeCloseTo((1000 * 1.25 + 100 * 10) / 1_000_000, 12);
    expect(costOf('openai:o3', call)).toBeCloseTo((1000 * 2 + 100 * 8) / 1_000_000, 12);
    expect(costOf('anthropic:claude-opus-4-5', call)).toBeCloseTo((1000 * 5 + 100 * 25) / 1_000_000, 12);
    expect(costOf('anthropic:claude-sonnet-4-5-20250929', call)).toBeGreaterThan(0);
    expect(priceOf('openai:gpt-5')).toMatchObject({ input: 1.25, output: 10, cachedInput: 0.125 });
    // A long prompt is priced at the provider's higher tier.
    const long = { inputTokens: 300_000, outputTokens: 0, totalTokens: 300_000 };
    expect(costOf('anthropic:claude-sonnet-4-5', long)).toBeCloseTo((300_000 * 6) / 1_000_000, 9);
    expect(costOf('ollama:llama3', call)).toBeUndefined();
    expect(priceOf('ollama:llama3')).toBeUndefined();
  });

  it("prefers the user's registered prices over the catalogue", () => {
    registerPrices({ 'openai:o3-pro': { input: 1, output: 1 } });
    expect(costOf('openai:o3-pro', { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 })).toBe(
      1,
    );
    expect(priceOf('openai:o3-pro')).toEqual({ input: 1, output: 1 });
  });

  it('lets users add and override prices, and rejects bad ones', () => {
    registerPrices({ 'acme:large': { input: 1, output: 3 } });
    expect(
      costOf('acme:large', { inputTokens: 1_000_000, outputTokens: 1_000_000, totalTokens: 2_000_000 }),
    ).toBe(4);
    registerPrices({ 'acme:large': { input: 2, output: 3 } });
    expect(costOf('acme:large', { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 })).toBe(2);
    expect(() => registerPrices({ large: { input: 1, output: 1 } })).toThrow(/must be "provider:model"/);
    expect(() => registerPrices({ 'acme:x': { input: -1, output: 1 } })).toThrow(
      /acme:x.input must be a non-negative number/,
    );
  });

  it('prices a model (and its dated ids) registered after it was first looked up', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 };
    const table = createPriceTable();
    expect(table.costOf('acme:later', usage)).toBeUndefined();
    expect(table.costOf('acme:later-2025-01-01', usage)).toBeUndefined();
    table.register({ 'acme:later': { input: 7, output: 1 } });
    expect(table.costOf('acme:later', usage)).toBe(7);
    expect(table.costOf('acme:later-2025-01-01', usage)).toBe(7);
  });

  it('keeps a runtime table apart from the process table, both ways', () => {
    registerPrices({ 'acme:shared': { input: 5, output: 5 } });
    const table = createPriceTable({ 'acme:own': { input: 1, output: 2 } });
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000, totalTokens: 2_000_000 };
    expect(table.costOf('acme:own', usage)).toBe(3);
    expect(table.priceOf('acme:shared')).toBeUndefined();
    expect(costOf('acme:own', usage)).toBeUndefined();
    table.register({ 'acme:own-2025-01-01': { input: 0, output: 0 } });
    expect(table.priceOf('acme:own-2025-01-01')).toEqual({ input: 0, output: 0 });
    expect(priceOf('acme:own-2025-01-01')).toBeUndefined();
    expect(() => createPriceTable({ own: { input: 1, output: 1 } })).toThrow(
      /^createPriceTable\(\): "own" must be "provider:model"/,
    );
  });
});

describe('runtime model providers', () => {
  it('make a prefix of their own and leave other models to the process', async () => {
    const own = scriptedModel([{ text: 'own' }]);
    let made = 0;
    const providers = createModelProviders({
      tenant: () => {
        made += 1;
        return own;
      },
    });
    expect(await providers.resolve('tenant:x')).toBe(own);
    expect(await providers.resolve('tenant:x')).toBe(own);
    expect(made).toBe(1);
    // The AI SDK's spelling names the same model of the runtime's own prefix.
    expect(await providers.resolve('tenant/x')).toBe(own);
    expect(made).toBe(1);
    expect(() => resolveModel('tenant:x')).toThrow(/Unknown model provider "tenant"/);
    const shared = scriptedModel([{ text: 'shared' }]);
    registerModelProvider('process-wide', () => shared);
    expect(await providers.resolve('process-wide:y')).toBe(shared);
    expect(providers.resolve(own)).toBe(own);
    expect(() => createModelProviders({ 'a:b': () => own })).toThrow(
      /a provider prefix is a non-empty string without ':'/,
    );
  });
});
