/** What the run page reads from a journal (no browser): the run tree, an error's route, interruptions, a chat thread, speaker selections told from handoffs, a child run alone. */

import { describe, expect, it } from 'vitest';
import { chatThread, interruptions, parentRunId, runTree, stepRoute } from '../../src/dashboard/run-model.js';
import { layoutTimeline, type TimelineEntry } from '../../src/dashboard/timeline-model.js';

const at = 1_000_000;

function entry(fields: Partial<TimelineEntry> & Pick<TimelineEntry, 'key' | 'name'>): TimelineEntry {
  return { kind: 'step', status: 'completed', startedAt: at, endedAt: at, ...fields };
}

const model = (key: string, agent: string, start: number, end: number, result: unknown = { text: '' }) =>
  entry({
    key,
    name: `model:${agent}`,
    kind: 'model',
    startedAt: at + start,
    endedAt: at + end,
    meta: { agent },
    result,
  });

describe('runTree of a fork', () => {
  it('times each run and agent by its own steps, not the ones it shares with the original (recorded a day before)', () => {
    const day = 86_400_000;
    const entries = [
      model('r#0', 'billing', 0, 30),
      entry({ key: 'r/1#0', name: 'validate', startedAt: at, endedAt: at + 10 }),
      entry({ key: 'r#1', name: 'run:prepare', kind: 'child', startedAt: at, endedAt: at + 12 }),
      model('r#2', 'billing', day + 5, day + 25),
      model('r#3', 'billing', day + 30, day + 45),
    ];
    const root = runTree(entries, 'order', 4);
    expect([root.start, root.end]).toEqual([at + day + 5, at + day + 45]);
    expect(root.steps).toBe(3);
    const [billing, prepare] = root.children;
    expect([billing?.label, billing?.start, billing?.end]).toEqual(['billing', at + day + 5, at + day + 45]);
    // A child run that only the original ran keeps its recorded times.
    expect([prepare?.label, prepare?.start, prepare?.end]).toEqual(['prepare', at, at + 12]);
  });
});

describe('runTree', () => {
  it('nests child runs by scope (through parallel branches), lists agents per run, links distributed children', () => {
    const entries = [
      entry({ key: 'r/0#0', name: 'validate', startedAt: at, endedAt: at + 10 }),
      entry({ key: 'r#0', name: 'run:prepare', kind: 'child', startedAt: at, endedAt: at + 12 }),
      model('r/1.0/0#0', 'billing', 20, 50),
      entry({
        key: 'r/1.0/0#1',
        name: 'tool:charge',
        kind: 'tool',
        status: 'failed',
        startedAt: at + 51,
        endedAt: at + 60,
        meta: { agent: 'billing', tool: 'charge' },
      }),
      entry({ key: 'r/1.0#0', name: 'run:billing', kind: 'child', startedAt: at + 15, endedAt: at + 70 }),
      entry({ key: 'r#1', name: 'parallel', kind: 'parallel', startedAt: at + 15, endedAt: at + 71 }),
      entry({
        key: 'r#2',
        name: 'spawn:audit',
        result: 'run_1.child.r_2',
        startedAt: at + 72,
        endedAt: at + 73,
      }),
      entry({
        key: 'r#3',
        name: 'ledger:task',
        startedAt: at + 80,
        endedAt: at + 80,
        meta: { pattern: 'magentic', ledger: 'task' },
      }),
    ];
    const root = runTree(entries, 'checkout');
    const shape = (node: ReturnType<typeof runTree>): unknown => [
      node.kind,
      node.label,
      node.end === undefined || node.start === undefined ? undefined : node.end - node.start,
      node.failures,
      node.children.map(shape),
    ];
    expect(shape(root)).toEqual([
      'run',
      'checkout',
      80,
      0,
      [
        ['child', 'prepare', 12, 0, []],
        ['child', 'billing', 55, 1, [['agent', 'billing', 40, 1, []]]],
        ['spawn', 'audit', 1, 0, []],
      ],
    ]);
    expect(root.patterns).toEqual(['magentic']);
    expect(root.children[2]?.runId).toBe('run_1.child.r_2');
    expect(stepRoute(entries, 4, 'checkout')).toEqual(['checkout', 'billing', 'tool charge']);
    expect(stepRoute(entries, 1, 'checkout')).toEqual(['checkout', 'prepare', 'validate']);
    expect(parentRunId('run_1.child.r_2')).toBe('run_1');
    expect(parentRunId('run_1')).toBeUndefined();
  });
});

describe('runTree with distributed children', () => {
  it('shows each distributed ctx.run (a scope holding only its spawn and the wait for it) as the spawned run, not as an unnamed child', () => {
    const child = (branch: number) => `run_1.child.r/0.${branch}_0`;
    const entries = [
      entry({ key: 'r/0.0/0#0', name: 'spawn:pack', result: child(0), startedAt: at + 1, endedAt: at + 3 }),
      entry({ key: 'r/0.1/0#0', name: 'spawn:pack', result: child(1), startedAt: at + 1, endedAt: at + 4 }),
      entry({ key: 'r/0.0/0#1~timer', name: 'timer', kind: 'timer', startedAt: at + 5, endedAt: at + 5 }),
      entry({ key: 'r/0.1/0#1~timer', name: 'timer', kind: 'timer', startedAt: at + 5, endedAt: at + 5 }),
      entry({
        key: 'r/0.0/0#1',
        name: `waitFor:child:${child(0)}`,
        kind: 'signal',
        startedAt: at + 90,
        endedAt: at + 90,
      }),
      entry({
        key: 'r/0.1/0#1',
        name: `waitFor:child:${child(1)}`,
        kind: 'signal',
        startedAt: at + 120,
        endedAt: at + 120,
      }),
      entry({ key: 'r#1', name: 'manifest', startedAt: at + 121, endedAt: at + 121 }),
    ];
    const root = runTree(entries, 'shipping');
    expect(
      root.children.map((node) => [node.kind, node.label, node.runId, (node.end ?? 0) - (node.start ?? 0)]),
    ).toEqual([
      ['spawn', 'pack', child(0), 89],
      ['spawn', 'pack', child(1), 119],
    ]);
    expect(root.children.map((node) => node.position)).toEqual([1, 2]);
  });
});

describe('interruptions', () => {
  it("does not take a fork's pause between the shared steps and its own first step for one", () => {
    // Steps 1 and 2 are the original run's (recorded a minute before the fork); step 3 on ran in the fork.
    const entries = [
      entry({ key: 'r#0', name: 'check', startedAt: at, endedAt: at + 20 }),
      entry({ key: 'r#1', name: 'price', startedAt: at + 25, endedAt: at + 40 }),
      entry({ key: 'r#2', name: 'reserve', startedAt: at + 60_040, endedAt: at + 60_060 }),
      entry({ key: 'r#3', name: 'charge', startedAt: at + 200_000, endedAt: at + 200_010 }),
    ];
    expect(interruptions(entries, 2000, 3)).toEqual([
      { before: 3, after: 4, stoppedAt: at + 60_060, resumedAt: at + 200_000 },
    ]);
    expect(interruptions(entries).map((gap) => gap.after)).toEqual([3, 4]);
  });

  it('finds a pause between two steps, but not a wait, a sleep or an answered signal', () => {
    const entries = [
      entry({ key: 'r#0', name: 'collect', startedAt: at, endedAt: at + 20 }),
      entry({ key: 'r#1', name: 'price', startedAt: at + 25, endedAt: at + 40 }),
      entry({ key: 'r#2', name: 'reserve', startedAt: at + 60_040, endedAt: at + 60_060 }),
      // A wait answered an hour later, and the step after it.
      entry({
        key: 'r#3',
        name: 'waitFor:go',
        kind: 'signal',
        startedAt: at + 3_660_000,
        endedAt: at + 3_660_000,
      }),
      entry({ key: 'r#4', name: 'ship', startedAt: at + 3_660_010, endedAt: at + 3_660_030 }),
      entry({
        key: 'r#5~timer',
        name: 'timer',
        kind: 'timer',
        startedAt: at + 3_660_040,
        endedAt: at + 3_660_040,
      }),
      entry({ key: 'r#5', name: 'sleep', kind: 'sleep', startedAt: at + 7_000_000, endedAt: at + 7_000_000 }),
      entry({ key: 'r#6', name: 'notify', startedAt: at + 7_000_010, endedAt: at + 7_000_020 }),
    ];
    expect(interruptions(entries)).toEqual([
      { before: 2, after: 3, stoppedAt: at + 40, resumedAt: at + 60_040 },
    ]);
    const timeline = layoutTimeline(
      entries,
      { createdAt: at, endedAt: at + 7_000_020, status: 'completed' },
      at,
      {
        resumedAt: interruptions(entries),
      },
    );
    const resumed = timeline.rows.find((row) => row.resumedAfter !== undefined);
    expect([resumed?.position, resumed?.resumedAfter]).toEqual([3, 60_000]);
    expect(
      timeline.markers.filter((marker) => marker.kind === 'resume').map((marker) => marker.position),
    ).toEqual([3]);
  });
});

describe('chat and speakers', () => {
  const turns = [
    model('r#0', 'writer', 0, 10, { text: 'Baton?' }),
    model('r#1', 'critic', 11, 20, { text: 'Taken.' }),
  ];

  it('reads the thread from the output, else from the turns while it runs; a handoff is no chat', () => {
    const output = {
      messages: [
        { speaker: 'user', text: 'Name it.' },
        { speaker: 'writer', text: 'Baton?' },
      ],
    };
    expect(chatThread(output, 'Name it.', turns)).toEqual(output.messages);
    expect(chatThread(undefined, 'Name it.', turns)).toEqual([
      { speaker: 'user', text: 'Name it.' },
      { speaker: 'writer', text: 'Baton?', position: 1 },
      { speaker: 'critic', text: 'Taken.', position: 2 },
    ]);
    const handoff = [
      model('r#0', 'triage', 0, 10, {
        text: '',
        toolCalls: [{ toolName: 'transfer_to_billing', input: '{}' }],
      }),
      model('r#1', 'billing', 11, 20, { text: 'Refunded.' }),
    ];
    expect(chatThread(undefined, 'Help', handoff)).toBeUndefined();
    expect(chatThread('Refunded.', 'Help', turns)).toBeUndefined();
  });

  it('marks a change of agent as a handoff after a transfer call, else as a speaker selection; a child run shows alone', () => {
    const { markers } = layoutTimeline(turns, { createdAt: at, endedAt: at + 20, status: 'completed' }, at);
    expect(markers.map((marker) => [marker.kind, marker.label])).toEqual([
      ['speaker', 'next speaker: critic'],
    ]);
    const nested = [
      entry({ key: 'r#0', name: 'plan' }),
      entry({ key: 'r/1#0', name: 'inner' }),
      entry({ key: 'r/1/0#0', name: 'deep' }),
    ];
    const alone = layoutTimeline(nested, { createdAt: at, status: 'completed' }, at, { scope: 'r/1' });
    expect(alone.rows.map((row) => row.position)).toEqual([2, 3]);
  });
});
