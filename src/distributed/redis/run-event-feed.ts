/** `redisEventFeed`: the kernel's RunEventFeed on the Redis Streams run-event bus. */

import type { RunEventFeed } from '../../core/dispatch.js';
import type { BatonEvent } from '../../core/events.js';
import type { RedisEventBus } from './redis-event-bus.js';

/**
 * Lets `handle.events()` follow runs that workers execute: pass it to `createRuntime({
 * eventFeed })` in the process that starts runs, and give the workers the same bus
 * (`createWorker({ events: bus })`), which publishes every event of their runtime.
 *
 * A run's stream holds all its executions; `follow` yields the events after its last
 * `run-suspended` (the current execution's), then live ones, and ends after `run-end` or the
 * next `run-suspended`. A run suspended now yields nothing, as a local one does.
 *
 * @example
 * ```ts
 * const bus = await createRedisEventBus({ redis: 'redis://127.0.0.1:6379' });
 * const runtime = createRuntime({ store, dispatcher, eventFeed: redisEventFeed(bus) });
 * const handle = await runtime.start('support', 'Where is my order?');
 * for await (const event of handle.events()) console.log(event.type);
 * ```
 */
export function redisEventFeed(bus: RedisEventBus): RunEventFeed {
  return {
    async *follow(runId: string, signal: AbortSignal): AsyncIterable<BatonEvent> {
      const recorded = await bus.read(runId);
      let start = 0;
      for (let index = recorded.length - 1; index >= 0; index--) {
        if (recorded[index]?.event.type === 'run-suspended') {
          start = index + 1;
          break;
        }
      }
      // Suspended now: nothing runs, nothing to follow.
      if (recorded.length > 0 && start === recorded.length) return;
      for (const entry of recorded.slice(start)) {
        yield entry.event;
        if (entry.event.type === 'run-end') return;
      }
      const from = recorded.at(-1)?.id ?? '0';
      for await (const entry of bus.subscribe(runId, {
        from,
        stopAt: ['run-end', 'run-suspended'],
        signal,
      })) {
        yield entry.event;
      }
    },
  };
}
