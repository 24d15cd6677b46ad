// Blocks and counts outgoing network access in a benchmark child, so no case can talk to a server.
import dns from 'node:dns';
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', '::1']);

/**
 * Installs the guard: every socket connect, DNS lookup and fetch fails with an error and is
 * counted. Local IPC (the pipe to the parent) is not a socket connect and keeps working.
 * `allow(['127.0.0.1:5432'])` lets connects to those loopback addresses through (a case that
 * measures a local Postgres or Redis declares them with `export const localServers`); only
 * literal loopback IPs are accepted, so nothing resolves a name and nothing leaves the machine.
 *
 * @returns {{ attempts: () => number, targets: () => string[], allow: (addresses: string[]) => void }}
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

  const allowed = new Set();
  const address = (args) => {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (first && typeof first === 'object') return `${first.host ?? 'localhost'}:${first.port ?? ''}`;
    return `${typeof args[1] === 'string' ? args[1] : 'localhost'}:${first}`;
  };
  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function blockedConnect(...args) {
    if (allowed.has(address(args))) return originalConnect.apply(this, args);
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

  const allow = (addresses) => {
    for (const entry of addresses) {
      const host = entry.slice(0, entry.lastIndexOf(':')).replace(/^\[|\]$/g, '');
      if (!LOOPBACK.has(host)) throw new Error(`bench network guard: ${entry} is not a loopback IP address`);
      allowed.add(`${host}:${entry.slice(entry.lastIndexOf(':') + 1)}`);
    }
  };

  return { attempts: () => attempts, targets: () => [...targets], allow };
}
