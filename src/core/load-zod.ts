/** zod, loaded on first use: importing the package root does not pay for it (about half of the import time). */

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The `zod` module namespace. */
export type Zod = typeof import('zod');

/**
 * The loaded module. It is the module system's own instance (no per-runtime state), cached here
 * only so that a call after the first is a property read.
 */
let loaded: Zod | undefined;

/**
 * The `zod` module, loaded synchronously the first time it is asked for. It is the same instance a
 * user's `import { z } from 'zod'` gets (Node's `require` of an ES module shares the ES module
 * cache), so schemas built here and the user's own mix freely; when the user imported zod
 * first, this costs nothing.
 *
 * @example
 * ```ts
 * const { z } = loadZod();
 * const schema = z.object({ query: z.string() });
 * ```
 */
export function loadZod(): Zod {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    // The ES module entry by its path (a bare `require('zod')` would load zod's CommonJS copy).
    loaded = require(fileURLToPath(import.meta.resolve('zod'))) as Zod;
  }
  return loaded;
}

/**
 * A schema built on first use instead of when its module loads.
 *
 * @example
 * ```ts
 * const answerSchema = lazySchema((z) => z.object({ answer: z.string() }));
 * answerSchema().safeParse({ answer: 'yes' }).success; // true
 * ```
 */
export function lazySchema<SCHEMA>(build: (z: Zod['z']) => SCHEMA): () => SCHEMA {
  let schema: SCHEMA | undefined;
  return () => {
    if (schema === undefined) schema = build(loadZod().z);
    return schema;
  };
}
