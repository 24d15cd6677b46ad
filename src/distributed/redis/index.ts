/** The `batonjs/redis` entry point: workers on a BullMQ queue, run events, eventDriven topics and limits shared between processes through Redis. */

export type { DispatchOptions, DispatchReason, ExecutionReport, RunDispatcher } from '../../core/dispatch.js';
export type {
  BreakerVerdict,
  SharedAcquireOptions,
  SharedBreaker,
  SharedCallOptions,
  SharedLease,
  SharedLimit,
  SharedLimits,
} from '../../models/resilience/shared-limits.js';
export { callWithSharedLimits } from '../../models/resilience/shared-limits.js';
export type {
  AllRunsEventEntry,
  AllRunsSubscribeOptions,
  RedisEventBus,
  RedisEventBusOptions,
  RunEventEntry,
  RunSubscribeOptions,
} from './redis-event-bus.js';
export { createRedisEventBus } from './redis-event-bus.js';
export type { RedisBreakerOptions, RedisLimits, RedisLimitsOptions } from './redis-limits.js';
export { createRedisLimits } from './redis-limits.js';
export type { RedisSource } from './redis-packages.js';
export type { RedisTopics, RedisTopicsOptions, TopicConsumeOptions, TopicDelivery } from './redis-topics.js';
export { createRedisTopics } from './redis-topics.js';
export { redisEventFeed } from './run-event-feed.js';
export {
  type BatonWorker,
  type BullmqConnection,
  type BullmqDispatcher,
  createBullmqDispatcher,
  createWorker,
  type RunJobData,
  type WorkerOptions,
} from './workers.js';
