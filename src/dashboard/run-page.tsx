/** One run: its figures, its timeline (live while it runs, over `GET /v1/runs/:id/events`) and the step picked in it. */

import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import { api, followStream } from './api.js';
import { ForkOriginNote } from './fork-control.js';
import { formatCost, formatDuration, formatJson, formatTime, formatTokens } from './format.js';
import { ErrorNote, LiveDot, StatusBadge, useNow } from './parts.js';
import { ReplayButton, ReplayResult, useReplay } from './replay-control.js';
import { href, replaceRoute, route } from './router.js';
import {
  chatThread,
  interruptions,
  ledgers,
  parentRunId,
  runTree,
  stepRoute,
  type TreeNode,
} from './run-model.js';
import { ChatView, ErrorsView, errorClass, InterruptionNote, LedgersView, RunTreeView } from './run-views.js';
import { WaitingNote, waitKind } from './run-waits.js';
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
  const replay = useReplay(id);
  const current = run.value;
  const open = current !== undefined && !endedStatuses.has(current.status);
  const now = useNow(open);
  const stepText = route.value.query.get('step');
  const selected = stepText === null ? undefined : Number(stepText);
  /** A child run shown alone on the timeline (`?scope=r/1`). */
  const scope = route.value.query.get('scope') ?? undefined;
  const list = entries.value;
  const target = current?.target ?? '';
  const forkedAt = current?.forkedFrom?.step;
  const tree = useMemo(() => runTree(list, target, forkedAt), [list, target, forkedAt]);
  const gaps = useMemo(() => interruptions(list, undefined, forkedAt), [list, forkedAt]);
  const ledgerList = useMemo(() => ledgers(list), [list]);
  const layout = useMemo(
    () => ({
      resumedAt: gaps,
      ...(scope === undefined ? {} : { scope }),
      ...(forkedAt === undefined ? {} : { sharedBefore: forkedAt }),
    }),
    [gaps, scope, forkedAt],
  );

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
  /** Shows a child run alone on the timeline (undefined: the whole run), opening its `run:` step when it has one. */
  const openScope = (child: string | undefined, position: number | undefined): void => {
    replaceRoute(href(`runs/${encodeURIComponent(id)}`, { scope: child, step: position?.toString() }));
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
  const raisedAt = current.error === undefined ? undefined : failedStep(list, current.error.message);
  const chatScope = scope ?? 'r';
  const chatSource =
    scope === undefined
      ? current.output
      : list.find((entry) => entry.kind === 'child' && entry.key.replace('#', '/') === scope)?.result;
  const chat = chatThread(chatSource, scope === undefined ? current.input : undefined, list, chatScope);
  const duration = (current.endedAt ?? Math.max(now, current.updatedAt)) - current.createdAt;
  return (
    <section aria-labelledby="run-title" class="run-page">
      <p class="crumbs">
        <a href={href('runs')}>← Runs</a>
        {parentRunId(current.id) === undefined ? null : (
          <>
            {' · child of '}
            <a href={href(`runs/${encodeURIComponent(parentRunId(current.id) ?? '')}`)}>
              {parentRunId(current.id)}
            </a>
          </>
        )}
      </p>
      {current.forkedFrom === undefined ? null : <ForkOriginNote origin={current.forkedFrom} />}
      <div class="page-head">
        <h1 id="run-title">
          {current.target} <span class="run-id">{current.id}</span>
        </h1>
        <StatusBadge status={current.status} wait={waitKind(current)} />
        {open || live.value !== 'off' ? <LiveDot state={live.value} /> : null}
        {open ? (
          <button type="button" class="quiet" onClick={cancel}>
            Cancel run
          </button>
        ) : (
          <ReplayButton replay={replay} />
        )}
      </div>
      <ErrorNote error={actionError.value} />
      {open ? null : <ReplayResult replay={replay} entries={list} onSelect={select} />}
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
      {current.status === 'suspended' ? <WaitingNote run={current} now={now} /> : null}
      {current.error === undefined ? null : (
        <div class="run-error" role="alert">
          <strong>{errorClass(current.error)}</strong>: {current.error.message}
          {raisedAt === undefined ? null : (
            <span class="error-route">
              raised at{' '}
              <button type="button" class="link" onClick={() => select(raisedAt)}>
                {stepRoute(list, raisedAt, current.target).join(' › ')}
              </button>
            </span>
          )}
        </div>
      )}
      <InterruptionNote gaps={gaps} entries={list} onSelect={select} />
      {scope === undefined ? null : (
        <p class="scope-note">
          <span>
            Showing the child run <strong>{childName(tree, scope)}</strong> alone.
          </span>
          <button type="button" class="quiet" onClick={() => openScope(undefined, undefined)}>
            Show the whole run
          </button>
        </p>
      )}
      <div class={selectedEntry === undefined ? 'run-body' : 'run-body with-details'}>
        <Timeline
          entries={entries.value}
          run={current}
          now={now}
          selected={selected}
          onSelect={(position) => select(position)}
          layout={layout}
        />
        {selectedEntry === undefined || selected === undefined ? null : (
          <StepDetails
            entries={entries.value}
            position={selected}
            entry={selectedEntry}
            runStart={current.createdAt}
            target={current.target}
            onClose={() => select(undefined)}
          />
        )}
      </div>
      <div class={list.some((entry) => entry.status === 'failed') ? 'run-views two' : 'run-views'}>
        <RunTreeView
          root={tree}
          now={now}
          open={open}
          scope={scope}
          onOpenScope={openScope}
          onSelect={select}
        />
        <ErrorsView entries={list} target={current.target} onSelect={select} />
      </div>
      <div class="run-views">
        <LedgersView list={ledgerList} onSelect={select} />
        {chat === undefined ? null : <ChatView lines={chat} live={open} onSelect={select} />}
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

/** The step that raised the run's error: the last failed step with its message, else the last failed step. */
function failedStep(entries: readonly JournalEntry[], message: string): number | undefined {
  let matching: number | undefined;
  let last: number | undefined;
  entries.forEach((entry, index) => {
    if (entry.status !== 'failed') return;
    last = index + 1;
    if (entry.error?.message === message) matching = index + 1;
  });
  return matching ?? last;
}

/** The name of the child run at `scope` in the tree. */
function childName(node: TreeNode, scope: string): string {
  if (node.scope === scope) return node.label;
  for (const child of node.children) {
    const found = childName(child, scope);
    if (found !== '') return found;
  }
  return node.kind === 'run' ? scope : '';
}
