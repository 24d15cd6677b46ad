/** The loop under every SSE stream read from the store: read, send, then wait for a change, a poll or the end. */

import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';

/** How a store-backed stream waits and stays alive. */
export interface StoreStreamOptions {
  /** Comment lines keep the connection alive this often. */
  heartbeatMs: number;
  /** How often the store is read when nothing announced a change. */
  pollMs: number;
  /** Ends the stream (server shutdown). */
  signal: AbortSignal | undefined;
  /** Subscribes `nudge` to the changes that should make the stream read again; returns the unsubscribe. */
  watch(nudge: () => void): () => void;
}

/** The streams waiting on each server signal: one `abort` listener per signal, however many streams are open. */
const waitingOn = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `stop` when `signal` aborts; returns the unsubscribe. A thousand open streams add one listener, not a thousand. */
function onServerAbort(signal: AbortSignal, stop: () => void): () => void {
  let streams = waitingOn.get(signal);
  if (streams === undefined) {
    const registered = new Set<() => void>();
    streams = registered;
    waitingOn.set(signal, registered);
    signal.addEventListener(
      'abort',
      () => {
        waitingOn.delete(signal);
        for (const each of registered) each();
      },
      { once: true },
    );
  }
  streams.add(stop);
  return () => {
    streams.delete(stop);
  };
}

/**
 * Answers with an SSE stream that calls `read` until it returns `'end'` or the client goes away:
 * after each read it waits for a change `watch` announces, the poll interval or the end, whichever
 * comes first. A change announced during a read makes the next wait return at once, so nothing
 * announced is missed. `stopped()` tells `read` to stop writing.
 *
 * @example
 * ```ts
 * return streamFromStore(c, { heartbeatMs: 15_000, pollMs: 500, signal, watch: (nudge) => changes.onRun(runId, nudge) },
 *   async (stream, stopped) => { ...; return done ? 'end' : 'wait'; });
 * ```
 */
export function streamFromStore(
  c: Context,
  options: StoreStreamOptions,
  read: (stream: SSEStreamingApi, stopped: () => boolean) => Promise<'end' | 'wait'>,
): Response {
  return streamSSE(c, async (stream) => {
    let wake: (() => void) | undefined;
    // A change announced while the store is being read: the next wait returns at once.
    let pending = false;
    const nudge = (): void => {
      const resolve = wake;
      wake = undefined;
      if (resolve === undefined) pending = true;
      else resolve();
    };
    stream.onAbort(nudge);
    const forget = options.signal === undefined ? undefined : onServerAbort(options.signal, nudge);
    const unsubscribe = options.watch(nudge);
    const heartbeat = setInterval(() => {
      if (!stream.aborted) stream.write(': heartbeat\n\n').catch(() => {});
    }, options.heartbeatMs);
    const stopped = (): boolean => stream.aborted || options.signal?.aborted === true;
    try {
      while (!stopped()) {
        pending = false;
        if ((await read(stream, stopped)) === 'end') break;
        if (pending || stopped()) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(nudge, options.pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      clearInterval(heartbeat);
      unsubscribe();
      forget?.();
    }
  });
}
