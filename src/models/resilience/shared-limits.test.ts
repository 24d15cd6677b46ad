import { describe, expect, it } from 'vitest';
import { agent, type BatonEvent, createMemoryStore, createRuntime } from '../../index.js';
import { scriptedModel } from '../../testing/index.js';
import { createResilience } from './registry.js';
import type { BreakerVerdict, SharedLimits } from './shared-limits.js';

/** Shared limits that record what the model call asks of them; `verdict` answers the breaker. */
function recordingLimits(verdict: BreakerVerdict) {
  const log: string[] = [];
  const limits: SharedLimits = {
    async acquire(key, options) {
      log.push(`acquire ${key}${options?.signal === undefined ? '' : ' (with signal)'}`);
      return {
        async release(used) {
          log.push(`release ${key} ${used?.tokens ?? '-'}`);
        },
      };
    },
    breaker(key) {
      return {
        allow: async () => {
          log.push(`allow ${key}`);
          return verdict;
        },
        success: async () => {
          log.push(`success ${key}`);
        },
        failure: async () => {
          log.push(`failure ${key}`);
        },
        state: async () => verdict.state,
      };
    },
    close: async () => undefined,
  };
  return { limits, log };
}

function fakeAgent() {
  const model = {
    ...scriptedModel([{ text: 'hello', usage: { inputTokens: 7, outputTokens: 5 } }]),
    provider: 'fake',
    modelId: 'slow',
  };
  return agent({ name: 'asker', instructions: 'Answer.', model });
}

describe('ResilienceConfig.sharedLimits in the model call', () => {
  it("asks the provider's breaker, takes the provider's and the model's leases, and releases them with the tokens used", async () => {
    const { limits, log } = recordingLimits({ allowed: true, state: 'closed', probe: false });
    const runtime = createRuntime({
      store: createMemoryStore(),
      resilience: createResilience({ sharedLimits: limits }),
    });
    const handle = await runtime.start(fakeAgent(), 'hi');
    expect(await handle.result()).toBe('hello');
    expect(log).toEqual([
      'allow fake',
      'acquire fake (with signal)',
      'acquire fake:slow (with signal)',
      'release fake 12',
      'release fake:slow 12',
      'success fake',
    ]);
    await runtime.close();
  });

  it('fails fast with CIRCUIT_OPEN and a breaker-state event while the shared breaker is open; the model is not called', async () => {
    const { limits, log } = recordingLimits({
      allowed: false,
      state: 'open',
      probe: false,
      retryAfterMs: 5000,
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      resilience: createResilience({ sharedLimits: limits }),
    });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const handle = await runtime.start(fakeAgent(), 'hi');
    await expect(handle.result()).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(log).toEqual(['allow fake']);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'breaker-state', breaker: 'provider', name: 'fake', state: 'open' }),
    );
    await runtime.close();
  });
});
