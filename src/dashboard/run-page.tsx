/** One run: its figures, its timeline (live while it runs, over `GET /v1/runs/:id/events`) and the step picked in it. */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, followStream } from './api.js';
import { formatCost, formatDuration, formatJson, formatTime, formatTokens } from './format.js';
import { ErrorNote, LiveDot, StatusBadge, useNow } from './parts.js';
import { href, replaceRoute, route } from './router.js';
import { StepDetails } from './step-details.js';
import { Timeline } from './timeline.js';
import { endedStatuses, type JournalEntry, type Run } from './types.js';

/** The run page. */
export function RunPage({ id }: { id: string }) {
  const run = useSignal<Run | undefined>(undefined);
  const entries = useSignal<JournalEntry[]>([]);
  const error = useSignal<unknown>(undefined);
  const actionError = useSignal<unknown>(undefined);
  const live = useSignal<'connecting' | 'live' | 'reconnecting' | 'off'>('connecting');
  const current = run.value;
  const open = current !== undefined && !endedStatuses.has(current.status);
  const now = useNow(open);
  const stepText = route.value.query.get('step');
  const selected = stepText === null ? undefined : Number(stepText);

  useEffect(() => {
    const abort = new AbortController();
    const path = `v1/runs/${encodeURIComponent(id)}`;
    const refresh = (): void => {
      api<Run>(path, { signal: abort.signal })
        .then((record) => {
          run.value = record;
        })
        .catch(() => {});
    };
    Promise.all([
      api<Run>(path, { signal: abort.signal }),
      api<{ entries: JournalEntry[] }>(`${path}/journal`, { signal: abort.signal }),
    ])
      .then(([record, journal]) => {
        performance.mark('baton:journal-loaded');
        run.value = record;
        entries.value = journal.entries;
        if (endedStatuses.has(record.status)) {
          live.value = 'off';
          return;
        }
        // Live from the next entry on: steps as they are recorded, status changes as they happen.
        return followStream(`${path}/events?content=1`, {
          signal: abort.signal,
          lastEventId: String(journal.entries.length),
          onState: (connected) => {
            live.value = connected ? 'live' : 'reconnecting';
          },
          onError: () => {
            live.value = 'off';
          },
          onEvent: (event) => {
            if (event.event === 'step') {
              const { position, ...entry } = JSON.parse(event.data) as JournalEntry & { position: number };
              if (position === entries.value.length + 1) entries.value = [...entries.value, entry];
            } else if (event.event === 'run' || event.event === 'end') {
              refresh();
              if (event.event === 'end') live.value = 'off';
            }
          },
        });
      })
      .catch((failure: unknown) => {
        if (!abort.signal.aborted) error.value = failure;
      });
    return () => abort.abort();
  }, [id]);

  const select = (position: number | undefined): void => {
    const query = Object.fromEntries(route.value.query);
    replaceRoute(href(`runs/${encodeURIComponent(id)}`, { ...query, step: position?.toString() }));
  };

  const cancel = (): void => {
    actionError.value = undefined;
    api<Run>(`v1/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {} })
      .then((record) => {
        run.value = record;
      })
      .catch((failure: unknown) => {
        actionError.value = failure;
      });
  };

  if (error.value !== undefined)
    return (
      <section>
        <p>
          <a href={href('runs')}>← Runs</a>
        </p>
        <ErrorNote error={error.value} />
      </section>
    );
  if (current === undefined)
    return (
      <section aria-busy="true">
        <p>Loading run {id}…</p>
      </section>
    );
  const selectedEntry = selected === undefined ? undefined : entries.value[selected - 1];
  const duration = (current.endedAt ?? Math.max(now, current.updatedAt)) - current.createdAt;
  return (
    <section aria-labelledby="run-title" class="run-page">
      <p class="crumbs">
        <a href={href('runs')}>← Runs</a>
      </p>
      <div class="page-head">
        <h1 id="run-title">
          {current.target} <span class="run-id">{current.id}</span>
        </h1>
        <StatusBadge status={current.status} />
        {open || live.value !== 'off' ? <LiveDot state={live.value} /> : null}
        {open ? (
          <button type="button" class="quiet" onClick={cancel}>
            Cancel run
          </button>
        ) : null}
      </div>
      <ErrorNote error={actionError.value} />
      <dl class="facts">
        <div>
          <dt>Started</dt>
          <dd title={new Date(current.createdAt).toISOString()}>{formatTime(current.createdAt, now)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(duration)}</dd>
        </div>
        <div>
          <dt>Steps</dt>
          <dd data-steps={entries.value.length}>{entries.value.length}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd>{formatTokens(current.usage.totalTokens)}</dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{formatCost(current.costUsd)}</dd>
        </div>
        {current.threadId === undefined ? null : (
          <div>
            <dt>Thread</dt>
            <dd>
              <a href={href('runs', { thread: current.threadId })}>{current.threadId}</a>
            </dd>
          </div>
        )}
      </dl>
      {current.status === 'suspended' ? (
        <p class="waiting-note">
          Waiting since {formatTime(current.updatedAt, now)}
          {current.wakeAt === undefined ? '' : `, or until ${formatTime(current.wakeAt, now)}`}.{' '}
          <a href={href('inbox')}>Answer it in the inbox</a> if a person is needed.
        </p>
      ) : null}
      {current.error === undefined ? null : (
        <div class="run-error" role="alert">
          <strong>{current.error.code ?? current.error.name}</strong>: {current.error.message}
        </div>
      )}
      <div class={selectedEntry === undefined ? 'run-body' : 'run-body with-details'}>
        <Timeline
          entries={entries.value}
          run={current}
          now={now}
          selected={selected}
          onSelect={(position) => select(position)}
        />
        {selectedEntry === undefined || selected === undefined ? null : (
          <StepDetails
            entries={entries.value}
            position={selected}
            entry={selectedEntry}
            runStart={current.createdAt}
            onClose={() => select(undefined)}
          />
        )}
      </div>
      <details class="io">
        <summary>Run input</summary>
        <pre>{formatJson(current.input, 20_000)}</pre>
      </details>
      {current.output === undefined ? null : (
        <details class="io" open>
          <summary>Run output</summary>
          <pre>{formatJson(current.output, 20_000)}</pre>
        </details>
      )}
    </section>
  );
}
