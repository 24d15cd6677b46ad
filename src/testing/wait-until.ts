/** Polling helpers for tests: wait until something read from a runtime or a store matches. */

import type { RunStatus } from '../core/store.js';

/** Options of `waitUntil`. */
export interface WaitUntilOptions {
  /** Give up after this long (real time). Default 10 s. */
  timeoutMs?: number;
  /** Pause between reads. Default 2 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message. Default `a match`. */
  what?: string;
}

/**
 * Reads `read()` until `matches` accepts the value, and returns that value; throws, with the
 * last value read, when `timeoutMs` passes first. For state another part of the program
 * changes asynchronously (a run suspending, a request reaching the inbox).
 *
 * @example
 * ```ts
 * const pending = await waitUntil(() => listPending(store), (requests) => requests.length === 2, { what: 'two approvals' });
 * ```
 */
export async function waitUntil<T>(
  read: () => T | Promise<T>,
  matches: (value: T) => boolean,
  options: WaitUntilOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 2, what = 'a match' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (matches(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `waitUntil: still waiting for ${what} after ${timeoutMs} ms; last value read: ${describe(value)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until the run has `status` (default `suspended`), reading it from the runtime.
 *
 * @example
 * ```ts
 * const handle = await runtime.start(billing, 'Refund A-1');
 * await waitForStatus(runtime, handle.runId); // parked on its approval
 * ```
 */
export async function waitForStatus(
  runtime: { get(runId: string): Promise<{ status: RunStatus }> },
  runId: string,
  status: RunStatus = 'suspended',
  options: WaitUntilOptions = {},
): Promise<void> {
  await waitUntil(
    async () => (await runtime.get(runId)).status,
    (current) => current === status,
    { what: `status ${status} of run ${runId}`, ...options },
  );
}

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
}
