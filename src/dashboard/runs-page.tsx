/** The runs page: newest first, filtered by status, target, thread, time and waits for a person, searched, paged, and kept live by `GET /v1/events`. */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, followStream } from './api.js';
import { formatCost, formatDuration, formatTime, formatTokens } from './format.js';
import { ErrorNote, LiveDot, StatusBadge, useNow } from './parts.js';
import { href, replaceRoute, route } from './router.js';
import { waitKind, waitWords } from './run-waits.js';
import { endedStatuses, type Run, type RunChange, runStatuses, type Target } from './types.js';

const pageSize = 50;

interface Filters {
  status: string;
  target: string;
  thread: string;
  /** Local date-times (`YYYY-MM-DDTHH:mm`, as a datetime-local field gives them). */
  after: string;
  before: string;
  /** `1`: only runs waiting for a person. */
  waiting: string;
  q: string;
}

const filterNames = ['status', 'target', 'thread', 'after', 'before', 'waiting', 'q'] as const;

/** The filters an address holds (`#/runs?status=…`). */
function filtersOf(query: URLSearchParams): Filters {
  return Object.fromEntries(filterNames.map((name) => [name, query.get(name) ?? ''])) as unknown as Filters;
}

/** A datetime-local value as ms since the epoch (in this browser's time zone); undefined when empty or invalid. */
function localTime(text: string): number | undefined {
  if (text === '') return undefined;
  const time = new Date(text).getTime();
  return Number.isFinite(time) ? time : undefined;
}

/** Whether a run changed live still belongs in the list (the has-waits filter is checked by the server: see reloads). */
function matches(run: Run, filters: Filters): boolean {
  const after = localTime(filters.after);
  const before = localTime(filters.before);
  const q = filters.q.toLowerCase();
  return (
    (filters.status === '' || run.status === filters.status) &&
    (filters.target === '' || run.target === filters.target) &&
    (filters.thread === '' || run.threadId === filters.thread) &&
    (after === undefined || run.createdAt >= after) &&
    (before === undefined || run.createdAt < before) &&
    (filters.waiting === '' || run.status === 'suspended') &&
    (q === '' || run.id === filters.q || run.threadId === filters.q || run.target.toLowerCase().includes(q))
  );
}

function listPath(filters: Filters, cursor?: string): string {
  const query = new URLSearchParams({ limit: String(pageSize) });
  if (filters.status !== '') query.set('status', filters.status);
  if (filters.target !== '') query.set('target', filters.target);
  if (filters.thread !== '') query.set('thread', filters.thread);
  const after = localTime(filters.after);
  const before = localTime(filters.before);
  if (after !== undefined) query.set('after', String(after));
  if (before !== undefined) query.set('before', String(before));
  if (filters.waiting !== '') query.set('waiting', '1');
  if (filters.q !== '') query.set('q', filters.q);
  if (cursor !== undefined) query.set('cursor', cursor);
  return `v1/runs?${query}`;
}

/** The runs list. */
export function RunsPage() {
  const query = route.value.query;
  const filters = filtersOf(query);
  const filtered = filterNames.some((name) => filters[name] !== '');
  const runs = useSignal<Run[]>([]);
  const cursor = useSignal<string | null>(null);
  const loading = useSignal(true);
  const error = useSignal<unknown>(undefined);
  const live = useSignal<'connecting' | 'live' | 'reconnecting' | 'off'>('connecting');
  const targets = useSignal<string[]>([]);
  const threadDraft = useSignal(filters.thread);
  const searchDraft = useSignal(filters.q);
  const reloads = useSignal(0);
  const open = runs.value.some((run) => !endedStatuses.has(run.status));
  const now = useNow(open);

  useEffect(() => {
    api<{ targets: Target[] }>('v1/targets')
      .then((answer) => {
        targets.value = answer.targets.map((target) => target.name).sort();
      })
      .catch(() => {});
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    loading.value = true;
    error.value = undefined;
    threadDraft.value = filters.thread;
    searchDraft.value = filters.q;
    let reloadTimer: ReturnType<typeof setTimeout> | undefined;
    abort.signal.addEventListener('abort', () => clearTimeout(reloadTimer));
    const apply = (change: RunChange): void => {
      // Whether a run waits for a person is the server's to say (its inbox): read the first page again.
      if (filters.waiting !== '') {
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(() => {
          reloads.value += 1;
        }, 300);
        return;
      }
      const { runId, ...fields } = change;
      const run: Run = { ...fields, id: runId };
      const list = runs.value;
      const index = list.findIndex((existing) => existing.id === run.id);
      if (index !== -1) {
        const existing = list[index] as Run;
        if (existing.updatedAt > run.updatedAt) return;
        const next = list.slice();
        // What it waits for is what the change says (nothing once it is no longer suspended).
        const { waitingFor: _before, ...kept } = existing;
        if (matches(run, filters)) next[index] = { ...kept, ...run };
        else next.splice(index, 1);
        runs.value = next;
        return;
      }
      if (!matches(run, filters)) return;
      // A run older than the loaded pages shows up when its page is loaded.
      const oldest = list.at(-1);
      if (cursor.value !== null && oldest !== undefined && run.createdAt < oldest.createdAt) return;
      const next = list.slice();
      let at = next.findIndex((existing) => existing.createdAt < run.createdAt);
      if (at === -1) at = next.length;
      next.splice(at, 0, run);
      runs.value = next;
    };
    api<{ runs: Run[]; nextCursor: string | null }>(listPath(filters), { signal: abort.signal })
      .then((page) => {
        // A page that arrived after the filters changed belongs to the old ones.
        if (abort.signal.aborted) return;
        runs.value = page.runs;
        cursor.value = page.nextCursor;
        loading.value = false;
        // Changes after the newest one read, then live.
        const after = page.runs.reduce((newest, run) => Math.max(newest, run.updatedAt), 0);
        const stream = new URLSearchParams();
        if (filters.target !== '') stream.set('target', filters.target);
        if (after > 0) stream.set('after', String(after));
        return followStream(`v1/events?${stream}`, {
          signal: abort.signal,
          onState: (connected) => {
            live.value = connected ? 'live' : 'reconnecting';
          },
          onError: () => {
            live.value = 'off';
          },
          onEvent: (event) => {
            if (event.event === 'run') apply(JSON.parse(event.data) as RunChange);
          },
        });
      })
      .catch((failure: unknown) => {
        if (abort.signal.aborted) return;
        loading.value = false;
        error.value = failure;
        live.value = 'off';
      });
    return () => abort.abort();
  }, [...filterNames.map((name) => filters[name]), reloads.value]);

  // Read from the address at the time of the change, not from this render: two changes in one
  // task (before the page renders again) would otherwise undo the first.
  const setFilter = (name: keyof Filters, value: string): void => {
    replaceRoute(href('runs', { ...filtersOf(route.value.query), [name]: value }));
  };

  const loadMore = (): void => {
    const next = cursor.value;
    if (next === null) return;
    api<{ runs: Run[]; nextCursor: string | null }>(listPath(filters, next))
      .then((page) => {
        const known = new Set(runs.value.map((run) => run.id));
        runs.value = [...runs.value, ...page.runs.filter((run) => !known.has(run.id))];
        cursor.value = page.nextCursor;
      })
      .catch((failure: unknown) => {
        error.value = failure;
      });
  };

  const targetNames = [...new Set([...targets.value, ...(filters.target === '' ? [] : [filters.target])])];
  return (
    <section aria-labelledby="runs-title">
      <div class="page-head">
        <h1 id="runs-title">Runs</h1>
        <LiveDot state={live.value} />
      </div>
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(event) => {
          event.preventDefault();
          replaceRoute(
            href('runs', {
              ...filtersOf(route.value.query),
              thread: threadDraft.value.trim(),
              q: searchDraft.value.trim(),
            }),
          );
        }}
      >
        <label class="search">
          Search
          <input
            name="q"
            type="search"
            placeholder="run id, thread or target"
            value={searchDraft.value}
            onInput={(event) => {
              searchDraft.value = event.currentTarget.value;
            }}
          />
        </label>
        <label>
          Status
          <select
            value={filters.status}
            onChange={(event) => setFilter('status', event.currentTarget.value)}
            name="status"
          >
            <option value="">any</option>
            {runStatuses.map((status) => (
              <option value={status} key={status}>
                {status === 'suspended' ? 'suspended (waiting, sleeping)' : status}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target
          <select
            value={filters.target}
            onChange={(event) => setFilter('target', event.currentTarget.value)}
            name="target"
          >
            <option value="">any</option>
            {targetNames.map((name) => (
              <option value={name} key={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Thread
          <input
            name="thread"
            type="search"
            placeholder="thread id"
            value={threadDraft.value}
            onInput={(event) => {
              threadDraft.value = event.currentTarget.value;
            }}
          />
        </label>
        <label>
          Started after
          <input
            name="after"
            type="datetime-local"
            value={filters.after}
            onChange={(event) => setFilter('after', event.currentTarget.value)}
          />
        </label>
        <label>
          Started before
          <input
            name="before"
            type="datetime-local"
            value={filters.before}
            onChange={(event) => setFilter('before', event.currentTarget.value)}
          />
        </label>
        <label class="check">
          <input
            name="waiting"
            type="checkbox"
            checked={filters.waiting !== ''}
            onChange={(event) => setFilter('waiting', event.currentTarget.checked ? '1' : '')}
          />
          Waiting for a person
        </label>
        <button type="submit">Filter</button>
        {filtered ? (
          <a class="button quiet" href={href('runs')}>
            Clear
          </a>
        ) : null}
      </form>
      <ErrorNote error={error.value} />
      <div class="table-wrap">
        <table class="runs" aria-busy={loading.value}>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Target</th>
              <th scope="col" class="optional">
                Run
              </th>
              <th scope="col" class="optional">
                Started
              </th>
              <th scope="col" class="number">
                Duration
              </th>
              <th scope="col" class="number optional">
                Tokens
              </th>
              <th scope="col" class="number optional">
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.value.map((run) => {
              const wait = waitKind(run);
              const words = waitWords(run, wait, now);
              return (
                <tr key={run.id} data-run={run.id} data-status={run.status}>
                  <td>
                    <StatusBadge status={run.status} wait={wait} />
                    {words === undefined ? null : (
                      <span
                        class="wait-note"
                        title={wait === 'sleep' ? new Date(run.wakeAt ?? 0).toISOString() : undefined}
                      >
                        {words}
                      </span>
                    )}
                  </td>
                  <td class="target">
                    <a href={href(`runs/${encodeURIComponent(run.id)}`)} title={`Open run ${run.id}`}>
                      {run.target}
                    </a>
                    {run.threadId === undefined ? null : (
                      <a
                        class="thread"
                        href={href('runs', { thread: run.threadId })}
                        title="Runs of this thread"
                      >
                        thread {run.threadId}
                      </a>
                    )}
                    {run.error === undefined ? null : (
                      <span class="row-error" title={run.error.message}>
                        {run.error.code === undefined ? '' : `${run.error.code}: `}
                        {run.error.message}
                      </span>
                    )}
                  </td>
                  <td class="id optional">
                    <a
                      class="id-link"
                      href={href(`runs/${encodeURIComponent(run.id)}`)}
                      tabIndex={-1}
                      title={run.id}
                    >
                      {run.id}
                    </a>
                  </td>
                  <td class="optional" title={new Date(run.createdAt).toISOString()}>
                    {formatTime(run.createdAt, now)}
                  </td>
                  <td class="number">
                    {formatDuration((run.endedAt ?? Math.max(now, run.updatedAt)) - run.createdAt)}
                  </td>
                  <td class="number optional">{formatTokens(run.usage.totalTokens)}</td>
                  <td class="number optional">{formatCost(run.costUsd)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!loading.value && runs.value.length === 0 && error.value === undefined ? (
        <div class="empty">
          <p>
            No runs
            {filtered ? ' match' : ' yet'}.
          </p>
          <p class="hint">
            Start one with <code>baton run &lt;team.yaml&gt; "…"</code> or <code>POST /v1/runs</code>; it
            appears here as it starts.
          </p>
        </div>
      ) : null}
      {cursor.value === null ? null : (
        <button type="button" class="more" onClick={loadMore}>
          Load older runs
        </button>
      )}
    </section>
  );
}
