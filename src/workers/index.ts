/** `batonjs/workers`: runs on many processes and machines, over a BullMQ queue on Redis. */

export type { DispatchOptions, DispatchReason, ExecutionReport, RunDispatcher } from '../core/dispatch.js';
export {
  type BatonWorker,
  type BullmqConnection,
  type BullmqDispatcher,
  createBullmqDispatcher,
  createWorker,
  type RunJobData,
  type WorkerOptions,
} from './bullmq.js';
