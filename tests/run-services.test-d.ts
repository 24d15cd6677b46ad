import { describe, expectTypeOf, it } from 'vitest';
import type { RunContext, RunServices } from '../src/index.js';

// The per-run slot (docs/decisions/0008-per-run-slot.md): every wrapper of `ctx` must pass on
// `ctx.services`, and the type system, not a runtime lookup, makes sure it does.
declare const ctx: RunContext;
/** Everything a wrapper delegates, without the slot. */
declare const delegating: Omit<RunContext, 'services'>;

describe('the per-run slot of RunContext', () => {
  it('is a required, readonly property of type RunServices', () => {
    expectTypeOf<RunContext['services']>().toEqualTypeOf<RunServices>();
    expectTypeOf<Pick<RunContext, 'services'>>().toEqualTypeOf<{ readonly services: RunServices }>();
  });

  it('makes a wrapper object that forgets it fail to compile', () => {
    // @ts-expect-error Property 'services' is missing: a wrapper must forward ctx.services.
    const forgot: RunContext = { ...delegating };
    const forwards: RunContext = { ...delegating, services: ctx.services };
    expectTypeOf(forgot).toEqualTypeOf<RunContext>();
    expectTypeOf(forwards.services).toEqualTypeOf<RunServices>();
  });

  it('makes a wrapper class that forgets it fail to compile', () => {
    // @ts-expect-error Class 'Forgetful' incorrectly implements interface 'RunContext' (no 'services').
    abstract class Forgetful implements RunContext {
      abstract readonly runId: string;
      abstract readonly threadId: string | undefined;
      abstract readonly scope: string;
      abstract readonly signal: AbortSignal;
      abstract readonly idempotencyKey: string;
      abstract readonly replaying: boolean;
      abstract readonly observed: boolean;
      abstract readonly streaming: boolean;
      abstract step: RunContext['step'];
      abstract run: RunContext['run'];
      abstract parallel: RunContext['parallel'];
      abstract parallelSettled: RunContext['parallelSettled'];
      abstract waitFor: RunContext['waitFor'];
      abstract sleep: RunContext['sleep'];
      abstract now: RunContext['now'];
      abstract random: RunContext['random'];
      abstract uuid: RunContext['uuid'];
      abstract emit: RunContext['emit'];
      abstract emitEvent: RunContext['emitEvent'];
    }
    expectTypeOf<Forgetful>().not.toHaveProperty('services');
  });

  it('cannot be replaced by a wrapper once made', () => {
    const view: RunContext = { ...delegating, services: ctx.services };
    // @ts-expect-error Cannot assign to 'services' because it is a read-only property.
    view.services = ctx.services;
    expectTypeOf(view).toHaveProperty('services');
  });
});
