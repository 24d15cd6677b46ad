/** Replay an ended run (`POST /v1/runs/:id/replay`): today's code re-executed against the journal, calling nothing and storing nothing; the page says identical, or the first step that differs. */

import { type Signal, useSignal } from '@preact/signals';
import { api } from './api.js';
import { ErrorNote } from './parts.js';
import type { JournalEntry, ReplayReport } from './types.js';

/** The state of the run page's replay: the last report, the last error, whether one is under way. */
export interface Replay {
  busy: Signal<boolean>;
  report: Signal<ReplayReport | undefined>;
  error: Signal<unknown>;
  start(): void;
}

/**
 * The replay of run `runId`, started by {@link ReplayButton} and shown by {@link ReplayResult}.
 * Needs a key with the `run` scope; the server says so otherwise (403, shown as the error).
 */
export function useReplay(runId: string): Replay {
  const busy = useSignal(false);
  const report = useSignal<ReplayReport | undefined>(undefined);
  const error = useSignal<unknown>(undefined);
  const start = (): void => {
    if (busy.value) return;
    busy.value = true;
    error.value = undefined;
    api<ReplayReport>(`v1/runs/${encodeURIComponent(runId)}/replay`, { method: 'POST', body: {} })
      .then((answer) => {
        report.value = answer;
      })
      .catch((failure: unknown) => {
        report.value = undefined;
        error.value = failure;
      })
      .finally(() => {
        busy.value = false;
      });
  };
  return { busy, report, error, start };
}

/** The Replay button (stays focusable while a replay is under way, so the keyboard keeps its place). */
export function ReplayButton({ replay }: { replay: Replay }) {
  return (
    <button
      type="button"
      class="quiet"
      onClick={replay.start}
      aria-busy={replay.busy.value}
      aria-describedby="replay-hint"
      title="Re-execute this run with the code served now, against its journal: nothing runs, nothing is stored"
    >
      {replay.busy.value ? 'Replaying…' : 'Replay'}
    </button>
  );
}

/** What the last replay found; `onSelect` opens a step of the run (the one that differs). */
export function ReplayResult({
  replay,
  entries,
  onSelect,
}: {
  replay: Replay;
  entries: readonly JournalEntry[];
  onSelect(position: number): void;
}) {
  const report = replay.report.value;
  return (
    <div class="replay" aria-live="polite">
      <span id="replay-hint" class="visually-hidden">
        Checks that today's code still makes this run; nothing runs and nothing is stored.
      </span>
      <ErrorNote error={replay.error.value} />
      {report === undefined ? null : <ReportView report={report} entries={entries} onSelect={onSelect} />}
    </div>
  );
}

function ReportView({
  report,
  entries,
  onSelect,
}: {
  report: ReplayReport;
  entries: readonly JournalEntry[];
  onSelect(position: number): void;
}) {
  const counted = `${report.replayed} of ${report.recorded} recorded steps replayed; nothing ran and nothing was stored.`;
  if (report.identical)
    return (
      <div class="replay-report identical" role="status" data-identical="true">
        <p>
          <strong>Replay: identical.</strong> Today's code asks for the same {report.recorded}{' '}
          {report.recorded === 1 ? 'step' : 'steps'} and ends {report.status}, as the run did.
        </p>
        <p class="hint">{counted}</p>
      </div>
    );
  const difference = report.difference;
  const key = difference?.key;
  const position = key === undefined ? 0 : entries.findIndex((entry) => entry.key === key) + 1;
  return (
    <div class="replay-report differs" role="status" data-identical="false">
      <p>
        <strong>
          Replay: differs{position > 0 ? ` at step #${position}` : key === undefined ? '' : ' at'}
        </strong>
        {key === undefined ? null : (
          <>
            {' '}
            <code>{key}</code>
          </>
        )}
        {difference?.recorded === undefined && difference?.requested === undefined ? (
          '.'
        ) : (
          <>
            : the journal has {difference.recorded === undefined ? 'nothing' : `"${difference.recorded}"`},
            today's code asks for{' '}
            {difference.requested === undefined ? 'nothing' : `"${difference.requested}"`}.
          </>
        )}{' '}
        {position > 0 ? (
          <button type="button" class="link" onClick={() => onSelect(position)}>
            Open step #{position}
          </button>
        ) : null}
      </p>
      {difference === undefined ? null : <p class="replay-message">{difference.message}</p>}
      <p class="hint">{counted}</p>
    </div>
  );
}
