/** node:crypto, loaded on first use: importing the package root does not pay for it (Node's crypto internals, about 10 ms). */

/** The `node:crypto` module. */
export type NodeCrypto = typeof import('node:crypto');

/** The loaded module: Node's own instance (no per-runtime state), cached so later calls are a property read. */
let loaded: NodeCrypto | undefined;

/**
 * `node:crypto`, loaded synchronously the first time it is asked for (when a runtime is created,
 * or something is first hashed), through `process.getBuiltinModule` (Node >= 20.16).
 *
 * @example
 * ```ts
 * const digest = nodeCrypto().hash('sha256', 'text', 'hex');
 * ```
 */
export function nodeCrypto(): NodeCrypto {
  loaded ??= process.getBuiltinModule('node:crypto');
  return loaded;
}
