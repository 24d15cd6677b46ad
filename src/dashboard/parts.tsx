/** Small pieces the pages share: a status badge, an error note, the live indicator, a ticking clock. */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError } from './api.js';

const statusLabels: Record<string, string> = {
  running: 'running',
  suspended: 'waiting',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  'budget-exceeded': 'over budget',
};

/**
 * A run's status as a coloured badge (`suspended` reads "waiting", or "sleeping" for a run
 * asleep on timers alone: `wait` from `waitKind`).
 */
export function StatusBadge({ status, wait }: { status: string; wait?: string | undefined }) {
  const sleeping = status === 'suspended' && wait === 'sleep';
  return (
    <span
      class={sleeping ? `status status-${status} status-sleeping` : `status status-${status}`}
      data-status={status}
      data-wait={wait}
    >
      {sleeping ? 'sleeping' : (statusLabels[status] ?? status)}
    </span>
  );
}

/** What went wrong with a request, said plainly. */
export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const text =
    error instanceof ApiError
      ? error.status === 403
        ? `Not allowed with this key: ${error.message}`
        : `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <p class="error-note" role="alert">
      {text}
    </p>
  );
}

/** Whether a live stream is connected. */
export function LiveDot({ state }: { state: 'connecting' | 'live' | 'reconnecting' | 'off' }) {
  const label =
    state === 'live'
      ? 'live'
      : state === 'connecting'
        ? 'connecting…'
        : state === 'reconnecting'
          ? 'reconnecting…'
          : 'not live';
  return (
    <span class={`live live-${state}`} data-live={state}>
      <span class="dot" aria-hidden="true" /> {label}
    </span>
  );
}

/** The time now, updated every `everyMs` while `active`. */
export function useNow(active: boolean, everyMs = 1000): number {
  const now = useSignal(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      now.value = Date.now();
    }, everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return now.value;
}
