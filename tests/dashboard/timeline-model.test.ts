/** The timeline's layout (no browser): offsets and latencies from the journal's times, nesting by scope, markers, and where a tool step's input comes from. */

import { describe, expect, it } from 'vitest';
import { layoutTimeline, stepInput, type TimelineEntry } from '../../src/dashboard/timeline-model.js';

const at = 1_000_000;

function entry(fields: Partial<TimelineEntry> & Pick<TimelineEntry, 'key' | 'name'>): TimelineEntry {
  return { kind: 'step', status: 'completed', startedAt: at, endedAt: at, ...fields };
}

const model = (key: string, agent: string, start: number, end: number, calls: unknown[] = []) =>
  entry({
    key,
    name: `model:${agent}`,
    kind: 'model',
    startedAt: at + start,
    endedAt: at + end,
    meta: { agent },
    result: { text: '', toolCalls: calls },
  });

describe('layoutTimeline', () => {
  it('places each step by its start and latency, nests by scope, orders by start', () => {
    const entries = [
      entry({ key: 'r#0', name: 'plan', startedAt: at + 10, endedAt: at + 40 }),
      // A child run's entry is written after its own steps.
      entry({ key: 'r/1#0', name: 'inner', startedAt: at + 50, endedAt: at + 60 }),
      entry({ key: 'r#1', name: 'run:child', kind: 'child', startedAt: at + 45, endedAt: at + 70 }),
    ];
    const timeline = layoutTimeline(
      entries,
      { createdAt: at, endedAt: at + 100, status: 'completed' },
      at + 500,
    );
    expect(timeline.start).toBe(at);
    expect(timeline.span).toBe(100);
    expect(timeline.rows.map((row) => [row.position, row.offset, row.latency, row.depth])).toEqual([
      [1, 10, 30, 0],
      [3, 45, 25, 0],
      [2, 50, 10, 1],
    ]);
  });

  it('stretches to now while the run is open', () => {
    const timeline = layoutTimeline([], { createdAt: at, status: 'suspended' }, at + 1234);
    expect(timeline.span).toBe(1234);
  });

  it('marks handoffs, decisions, ledgers, answered waits and failures', () => {
    const entries = [
      model('r#0', 'triage', 0, 10, [{ toolName: 'transfer_to_billing', input: '{}' }]),
      model('r#1', 'billing', 12, 20),
      entry({
        key: 'r#2',
        name: 'decision:loop',
        startedAt: at + 21,
        endedAt: at + 22,
        meta: { decision: 'refine' },
      }),
      entry({
        key: 'r#3',
        name: 'ledger:progress',
        startedAt: at + 23,
        endedAt: at + 24,
        meta: { round: 2 },
      }),
      entry({ key: 'r#4', name: 'waitFor:approval', kind: 'signal', startedAt: at + 25, endedAt: at + 90 }),
      entry({ key: 'r#5', name: 'upload', status: 'failed', startedAt: at + 91, endedAt: at + 95 }),
    ];
    const { markers } = layoutTimeline(entries, { createdAt: at, endedAt: at + 95, status: 'failed' }, at);
    expect(markers.map((marker) => [marker.kind, marker.position, marker.offset, marker.label])).toEqual([
      ['handoff', 2, 12, 'triage → billing'],
      ['decision', 3, 22, 'loop: refine'],
      ['ledger', 4, 24, 'progress ledger, round 2'],
      ['wait', 5, 90, 'waitFor:approval answered'],
      ['error', 6, 95, 'upload failed'],
    ]);
  });
});

describe('layoutTimeline of a fork', () => {
  it('lays the steps it shares with the original (recorded a day before) at its start, marked shared, and scales to its own steps', () => {
    const day = 86_400_000;
    const created = at + day;
    const entries = [
      entry({ key: 'r#0', name: 'check', startedAt: at, endedAt: at + 40 }),
      entry({ key: 'r#1', name: 'price', startedAt: created + 5, endedAt: created + 20 }),
      entry({ key: 'r#2', name: 'reserve', startedAt: created + 20, endedAt: created + 60 }),
    ];
    const run = { createdAt: created, endedAt: created + 80, status: 'completed' };
    const timeline = layoutTimeline(entries, run, created + 100, { sharedBefore: 2 });
    expect(timeline.start).toBe(created);
    expect(timeline.span).toBe(80);
    expect(timeline.rows.map((row) => [row.position, row.offset, row.latency, row.shared ?? false])).toEqual([
      [1, 0, 40, true],
      [2, 5, 15, false],
      [3, 20, 40, false],
    ]);
  });
});

describe('stepInput', () => {
  it("finds a tool step's arguments in the model call that asked for it", () => {
    const entries = [
      model('r#0', 'billing', 0, 5, [{ toolName: 'lookup', input: '{"orderId":"A-1"}' }]),
      entry({ key: 'r#1', name: 'tool:lookup', kind: 'tool' }),
      // Two calls at once run in parallel branches r/3.0 and r/3.1.
      model('r#2', 'billing', 6, 9, [
        { toolName: 'refund', input: '{"amount":10}' },
        { toolName: 'refund', input: '{"amount":20}' },
      ]),
      entry({ key: 'r/3.1#0', name: 'tool:refund', kind: 'tool' }),
      entry({ key: 'r/3.0#0', name: 'tool:refund', kind: 'tool' }),
    ];
    expect(stepInput(entries, 2)).toEqual({ orderId: 'A-1' });
    expect(stepInput(entries, 4)).toEqual({ amount: 20 });
    expect(stepInput(entries, 5)).toEqual({ amount: 10 });
    // A model step's input is its prompt, when the runtime journals prompts; a plain step has none.
    expect(stepInput(entries, 1)).toBeUndefined();
    expect(stepInput([entry({ key: 'r#0', name: 'plan' })], 1)).toBeUndefined();
  });
});
