/** createRuntime as the package exports it: the kernel's runtime with SQLite as its default store. */

import { createRuntime as createKernelRuntime, type Runtime, type RuntimeOptions } from './core/runtime.js';
import type { Store } from './core/store.js';

/** Opens the default store, `.baton/baton.db`, loading the SQLite adapter only when it is needed. */
function openDefaultStore(): Promise<Store> {
  return import('./stores/sqlite/index.js').then(({ createSqliteStore }) => createSqliteStore());
}

/**
 * Creates a runtime. Without a `store`, runs live in SQLite at `.baton/baton.db` (opened on
 * first use); pass `store` for anything else (`createMemoryStore()`, `createSqliteStore({ path })`).
 *
 * @example
 * ```ts
 * import { createRuntime, createMemoryStore } from 'batonjs';
 * const runtime = createRuntime({ store: createMemoryStore(), workflows: [supportTeam] });
 * const handle = await runtime.start('support', 'Where is my order?');
 * console.log(await handle.result());
 * await runtime.close();
 * ```
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return createKernelRuntime(options, openDefaultStore);
}
