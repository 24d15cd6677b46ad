/** cockatiel, loaded on first use: it costs ~25 ms at import and only calls (not `import 'batonjs'`) need it. */

import { createRequire } from 'node:module';
import type * as Cockatiel from 'cockatiel';

let loaded: typeof Cockatiel | undefined;

/**
 * The cockatiel module, required synchronously the first time a breaker, bulkhead or retry
 * policy is made (cockatiel ships CommonJS only, so this is the same instance `import` gives).
 */
export function cockatiel(): typeof Cockatiel {
  loaded ??= createRequire(import.meta.url)('cockatiel') as typeof Cockatiel;
  return loaded;
}

/**
 * True for cockatiel's own failures (open breaker, full bulkhead queue, cancelled task). By the
 * brand properties cockatiel sets on them, not `instanceof`: that needs no loaded module and
 * holds for every copy of cockatiel (a bundler may load its ESM build next to this CommonJS one).
 */
export function isPolicyError(error: unknown): boolean {
  return (
    error instanceof Error &&
    ('isBrokenCircuitError' in error || 'isBulkheadRejectedError' in error || 'isTaskCancelledError' in error)
  );
}

/** True for cockatiel's open-breaker error (isolated included), by its brand property. */
export function isBrokenCircuit(error: unknown): error is Cockatiel.BrokenCircuitError {
  return error instanceof Error && 'isBrokenCircuitError' in error;
}
