/** The Gantt chart of a run's steps: a bar per step at its start with its latency, markers for handoffs, decisions, ledgers, waits and errors; arrow keys move between steps. Only the rows in view are in the page, so a run of thousands of steps renders as fast as a short one. */

import { useSignal } from '@preact/signals';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import { formatDuration } from './format.js';
import { waitKind } from './run-waits.js';
import { type LayoutOptions, layoutTimeline, type MarkerKind } from './timeline-model.js';
import type { JournalEntry, Run } from './types.js';

/** Height of a row in px (the CSS gives `.steps > li` the same). */
const rowHeight = 26;
/** Rows kept in the page above and below the visible ones. */
const overscan = 12;

const markerIcons: Record<MarkerKind, string> = {
  handoff: '⇄',
  speaker: '»',
  decision: '◆',
  ledger: '▤',
  wait: '‖',
  error: '✕',
  resume: '↻',
};

/** Props of {@link Timeline}. */
export interface TimelineProps {
  entries: readonly JournalEntry[];
  run: Run;
  now: number;
  /** The journal position of the step shown in detail. */
  selected: number | undefined;
  onSelect(position: number): void;
  /** A child run alone (`scope`) and where the run was interrupted (`resumedAt`). */
  layout?: LayoutOptions;
}

/** The timeline of a run. */
export function Timeline({ entries, run, now, selected, onSelect, layout }: TimelineProps) {
  const ended = run.endedAt !== undefined;
  const timeline = useMemo(
    () => layoutTimeline(entries, run, now, layout),
    // `now` matters only while the run is open (its end is now).
    [entries, run.createdAt, run.endedAt, run.status, ended ? 0 : now, layout?.scope, layout?.resumedAt],
  );
  const viewport = useRef<HTMLDivElement>(null);
  const scrollTop = useSignal(0);
  const height = useSignal(640);
  /** The row (index in the chart) to focus after the next render, for arrow keys past the rendered rows. */
  const focusIndex = useRef<number | undefined>(undefined);
  const painted = useRef(false);
  useEffect(() => {
    if (painted.current || entries.length === 0) return;
    painted.current = true;
    performance.mark('baton:timeline-rendered');
  }, [entries.length]);
  useLayoutEffect(() => {
    const element = viewport.current;
    if (element === null || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      height.value = element.clientHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [timeline.rows.length === 0]);
  // The selected step (from the URL) is scrolled into view once.
  useLayoutEffect(() => {
    const element = viewport.current;
    if (element === null || selected === undefined) return;
    const index = timeline.rows.findIndex((row) => row.position === selected);
    if (index !== -1) scrollTop.value = reveal(element, index);
  }, [timeline.rows.length === 0]);
  useEffect(() => {
    const index = focusIndex.current;
    if (index === undefined) return;
    focusIndex.current = undefined;
    viewport.current?.querySelector<HTMLButtonElement>(`button[data-index="${index}"]`)?.focus();
  });

  const percent = (ms: number): string => `${Math.min(100, (ms / timeline.span) * 100).toFixed(3)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const count = timeline.rows.length;
  const first = Math.max(0, Math.floor(scrollTop.value / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop.value + height.value) / rowHeight) + overscan);

  const onKeyDown = (event: KeyboardEvent): void => {
    const current = Number((document.activeElement as HTMLElement | null)?.dataset.index ?? Number.NaN);
    if (Number.isNaN(current)) return;
    let next: number | undefined;
    if (event.key === 'ArrowDown') next = Math.min(count - 1, current + 1);
    else if (event.key === 'ArrowUp') next = Math.max(0, current - 1);
    else if (event.key === 'PageDown')
      next = Math.min(count - 1, current + Math.floor(height.value / rowHeight));
    else if (event.key === 'PageUp') next = Math.max(0, current - Math.floor(height.value / rowHeight));
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = count - 1;
    if (next === undefined) return;
    event.preventDefault();
    const element = viewport.current;
    if (element !== null) scrollTop.value = reveal(element, next);
    const button = element?.querySelector<HTMLButtonElement>(`button[data-index="${next}"]`);
    if (button !== null && button !== undefined) button.focus();
    else focusIndex.current = next;
  };

  if (count === 0)
    return (
      <div class="timeline empty">
        <p>No steps recorded yet{ended ? '.' : '; they appear here as the run records them.'}</p>
      </div>
    );
  return (
    <section class="timeline" aria-label={`Timeline, ${count} steps`}>
      <div class="axis" aria-hidden="true">
        <span class="step-label" />
        <span class="step-track">
          {ticks.map((tick) => (
            <span class="tick" style={{ left: `${tick * 100}%` }} key={tick}>
              {formatDuration(tick * timeline.span)}
            </span>
          ))}
        </span>
        <span class="step-latency" />
      </div>
      {timeline.markers.length === 0 ? null : (
        <div class="marker-lane">
          <span class="step-label">Markers</span>
          <span class="step-track">
            {timeline.markers.map((marker) => (
              <button
                type="button"
                class={`marker marker-${marker.kind}`}
                style={{ left: percent(marker.offset) }}
                title={marker.label}
                aria-label={`${marker.kind}: ${marker.label}`}
                onClick={() => onSelect(marker.position)}
                key={`${marker.kind}-${marker.position}-${marker.label}`}
              >
                {markerIcons[marker.kind]}
              </button>
            ))}
          </span>
          <span class="step-latency" />
        </div>
      )}
      <div
        class="steps-viewport"
        ref={viewport}
        style={{ height: `${Math.min(count * rowHeight + 2, 0.7 * window.innerHeight)}px` }}
        onScroll={(event) => {
          scrollTop.value = event.currentTarget.scrollTop;
        }}
      >
        <ol class="steps" style={{ height: `${count * rowHeight}px` }} onKeyDown={onKeyDown}>
          {timeline.rows.slice(first, last).map((row, offset) => {
            const index = first + offset;
            return (
              <li
                key={row.position}
                class={
                  row.shared === true
                    ? 'shared'
                    : row.resumedAfter === undefined
                      ? undefined
                      : 'resumed-after'
                }
                style={{ top: `${index * rowHeight}px` }}
                aria-posinset={index + 1}
                aria-setsize={count}
              >
                <button
                  type="button"
                  class={`step-row kind-${row.entry.kind} step-${row.entry.status}`}
                  aria-pressed={selected === row.position}
                  data-position={row.position}
                  data-index={index}
                  onClick={() => onSelect(row.position)}
                >
                  <span class="step-label" style={{ paddingLeft: `${0.25 + row.depth * 0.9}rem` }}>
                    <span class="step-name">{row.entry.name}</span>
                    {row.shared === true ? (
                      <span
                        class="shared-chip"
                        title="Recorded by the original run before the fork (at its own time); this run shares it"
                      >
                        shared
                      </span>
                    ) : null}
                    {row.resumedAfter === undefined ? null : (
                      <span
                        class="resume-chip"
                        title="The run was interrupted before this step and resumed with it"
                      >
                        resumed after {formatDuration(row.resumedAfter)}
                      </span>
                    )}
                    {row.markers.map((marker) => (
                      <span
                        class={`marker-icon marker-${marker.kind}`}
                        title={marker.label}
                        key={`${marker.kind}-${marker.label}`}
                      >
                        {markerIcons[marker.kind]}
                      </span>
                    ))}
                  </span>
                  <span class="step-track">
                    <span
                      class="step-bar"
                      style={{
                        left: percent(row.offset),
                        width: percent(Math.min(row.latency, timeline.span - row.offset)),
                      }}
                    />
                  </span>
                  <span class="step-latency">{formatDuration(row.latency)}</span>
                </button>
              </li>
            );
          })}
        </ol>
      </div>
      {run.status === 'suspended' ? (
        <div class={waitKind(run) === 'sleep' ? 'waiting-row sleeping' : 'waiting-row'}>
          <span class="step-label">
            <span class="step-name">{waitKind(run) === 'sleep' ? 'sleeping…' : 'waiting…'}</span>
          </span>
          <span class="step-track">
            <span
              class="step-bar"
              style={{
                left: percent(run.updatedAt - timeline.start),
                width: percent(now - run.updatedAt),
              }}
            />
          </span>
          <span class="step-latency">{formatDuration(now - run.updatedAt)}</span>
        </div>
      ) : null}
    </section>
  );
}

/** Scrolls `element` so row `index` is in view; returns its new scroll position. */
function reveal(element: HTMLDivElement, index: number): number {
  const top = index * rowHeight;
  if (top < element.scrollTop) element.scrollTop = top;
  else if (top + rowHeight > element.scrollTop + element.clientHeight)
    element.scrollTop = top + rowHeight - element.clientHeight;
  return element.scrollTop;
}
