// Blocks and counts outgoing network access in a benchmark child, so no case can talk to a server.
import dns from 'node:dns';
import net from 'node:net';

/**
 * Installs the guard: every socket connect, DNS lookup and fetch fails with an error and is
 * counted. Local IPC (the pipe to the parent) is not a socket connect and keeps working.
 *
 * @returns {{ attempts: () => number, targets: () => string[] }}
 * @example
 * const guard = installNetworkGuard();
 * // ... run the case ...
 * guard.attempts(); // 0 when the framework stayed offline
 */
export function installNetworkGuard() {
  let attempts = 0;
  const targets = new Set();
  const refuse = (what) => {
    attempts += 1;
    targets.add(what);
    return new Error(`bench network guard: blocked ${what}`);
  };

  const describe = (args) => {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (first && typeof first === 'object')
      return `connect ${first.host ?? first.path ?? '?'}:${first.port ?? ''}`;
    return `connect ${args[1] ?? 'localhost'}:${first}`;
  };

  net.Socket.prototype.connect = function blockedConnect(...args) {
    const error = refuse(describe(args));
    process.nextTick(() => this.destroy(error));
    return this;
  };

  const blockedLookup = (hostname, ...rest) => {
    const callback = rest[rest.length - 1];
    const error = refuse(`dns ${hostname}`);
    if (typeof callback === 'function') process.nextTick(() => callback(error));
  };
  dns.lookup = blockedLookup;
  dns.promises.lookup = async (hostname) => {
    throw refuse(`dns ${hostname}`);
  };

  if (typeof globalThis.fetch === 'function') {
    globalThis.fetch = async (input) => {
      throw refuse(`fetch ${typeof input === 'string' ? input : (input?.url ?? String(input))}`);
    };
  }

  return { attempts: () => attempts, targets: () => [...targets] };
}
