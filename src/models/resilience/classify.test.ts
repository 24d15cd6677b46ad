import { APICallError, InvalidResponseDataError, JSONParseError } from '@ai-sdk/provider';
import { BrokenCircuitError } from 'cockatiel';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../agents/agent.js';
import { ConfigError, ModelCallError, ToolError } from '../../core/errors.js';
import { scriptedModel } from '../../testing/scripted-model.js';
import { tool } from '../../tools/tool.js';
import { classifyError, isErrorClass, retryAfterMs } from './classify.js';
import { configureResilience, createResilience, latencyStats, resetResilience } from './registry.js';

function apiError(statusCode: number | undefined, headers?: Record<string, string>, isRetryable?: boolean) {
  return new APICallError({
    message: 'failed',
    url: 'http://x',
    requestBodyValues: {},
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(headers === undefined ? {} : { responseHeaders: headers }),
    ...(isRetryable === undefined ? {} : { isRetryable }),
  });
}

afterEach(() => resetResilience());

describe('classifyError', () => {
  it('routes HTTP statuses: 408/409/429/5xx transient, other 4xx fatal', () => {
    for (const status of [408, 409, 429, 500, 503])
      expect(classifyError(apiError(status), 'model')).toBe('transient');
    for (const status of [400, 401, 403, 404, 422])
      expect(classifyError(apiError(status), 'model')).toBe('fatal');
    const wrapped = new ModelCallError('x', { model: 'm:m', statusCode: 401, cause: apiError(401) });
    expect(classifyError(wrapped, 'model')).toBe('fatal');
  });

  it('treats network errors, timeouts and open breakers as transient, config errors as fatal', () => {
    expect(classifyError(apiError(undefined, undefined, true), 'model')).toBe('transient');
    expect(classifyError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'tool')).toBe(
      'transient',
    );
    expect(classifyError(new TypeError('fetch failed'), 'model')).toBe('transient');
    expect(classifyError(new ToolError('slow', { tool: 't', code: 'TOOL_TIMEOUT' }), 'tool')).toBe(
      'transient',
    );
    expect(classifyError(new BrokenCircuitError(), 'model')).toBe('transient');
    expect(classifyError(new ConfigError('bad'), 'model')).toBe('fatal');
  });

  it('treats a response the client could not use as transient: malformed, without choices or finish reason, an error mid-stream', () => {
    const noChoices = new InvalidResponseDataError({
      data: {},
      message: 'Response did not contain any choices.',
    });
    expect(classifyError(noChoices, 'model')).toBe('transient');
    const unfinished = new InvalidResponseDataError({
      data: undefined,
      message: 'Response stream ended without a finish reason.',
    });
    expect(classifyError(new ModelCallError('x', { model: 'm:m', cause: unfinished }), 'model')).toBe(
      'transient',
    );
    expect(classifyError(new JSONParseError({ text: '{', cause: new Error('bad') }), 'model')).toBe(
      'transient',
    );
    const streamed = new ModelCallError('x', {
      model: 'm:m',
      code: 'MODEL_STREAM_ERROR',
      cause: { message: 'Overloaded', type: 'server_error' },
    });
    expect(classifyError(streamed, 'model')).toBe('transient');
  });

  it('defaults unknown errors to fatal for models and recoverable for tools; a declared class wins', () => {
    expect(classifyError(new Error('odd'), 'model')).toBe('fatal');
    expect(classifyError(new Error('odd'), 'tool')).toBe('recoverable');
    expect(classifyError(Object.assign(new Error('ask'), { errorClass: 'escalate' }), 'tool')).toBe(
      'escalate',
    );
    expect(classifyError(new Error('outer', { cause: { errorClass: 'transient' } }), 'tool')).toBe(
      'transient',
    );
    expect(isErrorClass('fatal')).toBe(true);
    expect(isErrorClass('retry')).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, retry-after in seconds and as an HTTP date', () => {
    expect(retryAfterMs(apiError(429, { 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(apiError(429, { 'Retry-After': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(apiError(503, { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(apiError(429))).toBeUndefined();
    expect(
      retryAfterMs(new ModelCallError('x', { model: 'a:b', cause: apiError(429, { 'retry-after': '1' }) })),
    ).toBe(1000);
  });
});

describe('latency-derived timeouts', () => {
  it('applies p95 x multiplier, clamped, once minSamples calls are recorded', () => {
    const resilience = createResilience({
      adaptiveTimeout: { minSamples: 5, multiplier: 3, minMs: 10, maxMs: 1000 },
    });
    for (const ms of [10, 20, 30, 40]) resilience.recordLatency('tool:t', ms);
    expect(resilience.latencyStats('tool:t')).toEqual({ count: 4, p95Ms: 40, timeoutMs: undefined });
    resilience.recordLatency('tool:t', 100);
    expect(resilience.latencyStats('tool:t')).toEqual({ count: 5, p95Ms: 100, timeoutMs: 300 });
    for (let index = 0; index < 5; index += 1) resilience.recordLatency('tool:t', 900);
    expect(resilience.latencyStats('tool:t').timeoutMs).toBe(1000);
    // The process state (configureResilience, latencyStats) saw none of it.
    expect(latencyStats('tool:t')).toEqual({ count: 0, p95Ms: undefined, timeoutMs: undefined });
  });
});

describe('definition checks', () => {
  it('rejects bad resilience options, naming the option', () => {
    expect(() => configureResilience({ providers: { openai: { maxConcurrent: 0 } } })).toThrow(
      /providers\.openai\.maxConcurrent must be a number >= 1/,
    );
    expect(() => configureResilience({ retry: { maxAttempts: 0 } })).toThrow(
      /retry\.maxAttempts must be an integer >= 1/,
    );
    expect(() => createResilience({ tools: { search: { timeoutMs: 0 } } })).toThrow(
      /^createResilience: tools\.search\.timeoutMs must be a number >= 1/,
    );
    const model = scriptedModel([]);
    expect(() => agent({ name: 'a', instructions: 'x', model: [] })).toThrow(
      /agent\("a"\): model must not be an empty list/,
    );
    expect(() => agent({ name: 'a', instructions: 'x', model, timeoutMs: -1 })).toThrow(
      /agent\("a"\): timeoutMs must be positive/,
    );
    expect(() => agent({ name: 'a', instructions: 'x', model, retry: { initialDelayMs: -5 } })).toThrow(
      /agent\("a"\): retry\.initialDelayMs must be a number >= 0/,
    );
    expect(() =>
      tool({ name: 't', description: 'd', input: z.object({}), execute: () => 1, maxConcurrent: 1.5 }),
    ).toThrow(/tool\("t"\): maxConcurrent must be an integer >= 1/);
    expect(agent({ name: 'chain', instructions: 'x', model: [model, 'openai:gpt-4o'] }).models).toHaveLength(
      2,
    );
  });
});
