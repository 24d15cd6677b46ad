/** What a suspended run waits for, said for people: asleep until a time, an answer from a person (the inbox), or its child runs. */

import { formatDuration, formatTime } from './format.js';
import { href } from './router.js';
import type { Run } from './types.js';

/**
 * Why a run is suspended: `sleep` (timers alone: `ctx.sleep`, a durable timer), `person` (an
 * answer the inbox asks for), `child` (only its child runs), `unknown` (the server did not say).
 */
export type WaitKind = 'sleep' | 'person' | 'child' | 'unknown';

/**
 * The wait of a suspended run (from `waitingFor` and `wakeAt`); undefined for any other run.
 *
 * @example
 * ```ts
 * waitKind({ status: 'suspended', waitingFor: [], wakeAt: 1 }); // 'sleep'
 * ```
 */
export function waitKind(run: Pick<Run, 'status' | 'waitingFor' | 'wakeAt'>): WaitKind | undefined {
  if (run.status !== 'suspended') return undefined;
  const signals = run.waitingFor;
  if (signals === undefined) return 'unknown';
  if (signals.length === 0) return run.wakeAt === undefined ? 'unknown' : 'sleep';
  if (signals.every((signal) => signal.startsWith('child:'))) return 'child';
  return 'person';
}

/** The few words the runs list puts under a suspended run's badge ("until 14:05:00", "for a person"). */
export function waitWords(run: Run, kind: WaitKind | undefined, now: number): string | undefined {
  if (kind === 'sleep') return `until ${formatTime(run.wakeAt, now)}`;
  if (kind === 'person') return 'for a person';
  if (kind === 'child') return 'for a child run';
  return undefined;
}

/** What a wait for `signal` asks for, in words. */
function askedFor(signal: string): string | undefined {
  if (signal.startsWith('approval:')) return 'an approval';
  if (signal.startsWith('human:')) return `${signal.slice('human:'.length)}'s answer`;
  if (signal.startsWith('child:')) return undefined;
  return `the signal "${signal}"`;
}

/** The note on a suspended run's page: asleep until when, or who it waits for (and the way to the inbox). */
export function WaitingNote({ run, now }: { run: Run; now: number }) {
  const kind = waitKind(run) ?? 'unknown';
  if (kind === 'sleep')
    return (
      <p class="waiting-note sleeping" data-wait={kind}>
        Sleeping until{' '}
        <time dateTime={new Date(run.wakeAt ?? 0).toISOString()}>{formatTime(run.wakeAt, now)}</time> (in{' '}
        {formatDuration((run.wakeAt ?? now) - now)}): a durable timer wakes it, nothing to answer.
      </p>
    );
  if (kind === 'child')
    return (
      <p class="waiting-note" data-wait={kind}>
        Waiting since {formatTime(run.updatedAt, now)} for its child{' '}
        {run.waitingFor?.length === 1 ? 'run' : 'runs'} to end.
      </p>
    );
  const until = run.wakeAt === undefined ? '' : `, or until ${formatTime(run.wakeAt, now)}`;
  if (kind === 'person') {
    const asks = [...new Set((run.waitingFor ?? []).map(askedFor))].filter((ask) => ask !== undefined);
    return (
      <p class="waiting-note" data-wait={kind}>
        Waiting for a person since {formatTime(run.updatedAt, now)}
        {asks.length === 0 ? '' : ` (${asks.join(', ')})`}
        {until}. <a href={href('inbox')}>Answer it in the inbox</a>.
      </p>
    );
  }
  return (
    <p class="waiting-note" data-wait={kind}>
      Waiting since {formatTime(run.updatedAt, now)}
      {until}. <a href={href('inbox')}>Answer it in the inbox</a> if a person is needed.
    </p>
  );
}
