import { describe, expect, it } from 'vitest';
import type { BatonEvent } from '../index.js';
import { createStyle, stripAnsi, type Writer } from './output.js';
import { ProgressPrinter } from './progress.js';

function capture(options: { isTTY?: boolean; columns?: number } = {}): Writer & { text: string } {
  const writer = {
    text: '',
    isTTY: options.isTTY,
    columns: options.columns,
    write(chunk: string) {
      writer.text += chunk;
      return true;
    },
  };
  return writer;
}

type Event = BatonEvent extends infer E ? (E extends BatonEvent ? Omit<E, 'runId' | 'at'> : never) : never;
const at = (event: Event): BatonEvent => ({ runId: 'run_1', at: 0, ...event }) as BatonEvent;

describe('ProgressPrinter', () => {
  it('prints agents, streamed text, tool calls with input and result, and handoffs with payload', () => {
    const out = capture();
    const printer = new ProgressPrinter(out, createStyle(out, {}));
    const events: Event[] = [
      { type: 'run-start', target: 'support', resumed: false },
      { type: 'agent-start', scope: 'r', agent: 'triage' },
      { type: 'model-delta', scope: 'r', agent: 'triage', text: 'Let me ' },
      { type: 'model-delta', scope: 'r', agent: 'triage', text: 'check.' },
      {
        type: 'tool-call',
        scope: 'r',
        agent: 'triage',
        tool: 'lookup_order',
        toolCallId: 'c1',
        input: { orderId: 'A-1' },
      },
      {
        type: 'tool-result',
        scope: 'r',
        agent: 'triage',
        tool: 'lookup_order',
        toolCallId: 'c1',
        output: { total: 20 },
      },
      { type: 'handoff', scope: 'r', from: 'triage', to: 'billing', payload: { orderId: 'A-1' } },
      { type: 'agent-start', scope: 'r', agent: 'billing' },
      { type: 'tool-call', scope: 'r', agent: 'billing', tool: 'refund', toolCallId: 'c2', input: {} },
      {
        type: 'tool-result',
        scope: 'r',
        agent: 'billing',
        tool: 'refund',
        toolCallId: 'c2',
        error: 'card declined',
      },
      { type: 'model-delta', scope: 'r', agent: 'billing', text: 'Sorry.' },
      {
        type: 'run-end',
        status: 'completed',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        costUsd: 0,
        durationMs: 5,
      },
    ];
    for (const event of events) printer.print(at(event));
    expect(out.text).toBe(
      [
        '▶ support run_1',
        '',
        '● triage',
        '  Let me check.',
        '  → lookup_order {"orderId":"A-1"}',
        '    ← {"total":20}',
        '  ⇢ triage → billing {"orderId":"A-1"}',
        '',
        '● billing',
        '  → refund {}',
        '    ✗ refund failed: card declined',
        '  Sorry.',
        '',
      ].join('\n'),
    );
  });

  it('holds back agents running in parallel so their text never interleaves, and records what a suspended run waits for', () => {
    const out = capture();
    const printer = new ProgressPrinter(out, createStyle(out, {}));
    const model = (scope: string, agent: string, text: string): Event[] => [
      { type: 'model-delta', scope, agent, text },
    ];
    const events: Event[] = [
      { type: 'agent-start', scope: 'r/0.0/0', agent: 'optimist' },
      { type: 'agent-start', scope: 'r/0.1/0', agent: 'pessimist' },
      ...model('r/0.0/0', 'optimist', 'Sunny '),
      ...model('r/0.1/0', 'pessimist', 'Rain '),
      ...model('r/0.0/0', 'optimist', 'skies.'),
      ...model('r/0.1/0', 'pessimist', 'again.'),
      {
        type: 'step-end',
        key: 'r/0.1/0#0',
        name: 'model:pessimist',
        kind: 'model',
        durationMs: 5,
        status: 'completed',
      },
      {
        type: 'step-end',
        key: 'r/0.0/0#0',
        name: 'model:optimist',
        kind: 'model',
        durationMs: 5,
        status: 'completed',
      },
      { type: 'agent-start', scope: 'r/1', agent: 'judge' },
      ...model('r/1', 'judge', 'Mixed.'),
      { type: 'run-suspended', waitingFor: ['approval'] },
    ];
    for (const event of events) printer.print(at(event));
    expect(out.text).toBe(
      [
        '',
        '● optimist (r/0.0/0)',
        '',
        '● pessimist (r/0.1/0)',
        '',
        '● optimist (r/0.0/0)',
        '  Sunny skies.',
        '',
        '● pessimist (r/0.1/0)',
        '  Rain again.',
        '',
        '● judge (r/1)',
        '  Mixed.',
        '',
      ].join('\n'),
    );
    expect(printer.state.waitingFor).toEqual(['approval']);
  });

  it('wraps streamed text at words on a terminal, keeping the indent, and colors only when allowed', () => {
    const out = capture({ isTTY: true, columns: 42 });
    const printer = new ProgressPrinter(out, createStyle(out, { FORCE_COLOR: '1' }));
    printer.print(at({ type: 'agent-start', scope: 'r', agent: 'writer' }));
    for (const word of 'The quick brown fox jumps over the lazy dog and keeps on running far away '.split(
      /(?<= )/,
    )) {
      printer.print(at({ type: 'model-delta', scope: 'r', agent: 'writer', text: word }));
    }
    printer.finish();
    expect(out.text).toContain('\u001b[');
    const lines = stripAnsi(out.text)
      .split('\n')
      .filter((line) => line.startsWith('  '));
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.trimEnd().length).toBeLessThanOrEqual(40);
    expect(lines.map((line) => line.trim()).join(' ')).toBe(
      'The quick brown fox jumps over the lazy dog and keeps on running far away',
    );
    const plain = capture({ isTTY: true });
    expect(createStyle(plain, { NO_COLOR: '1' }).red('x')).toBe('x');
  });
  describe('pattern events', () => {
    const groupChat = { pattern: 'groupChat', name: 'review' };
    const taskLedger = {
      facts: {
        given: ['Q3 revenue is 4.2M', 'audience: board'],
        toLookUp: ['Q2 revenue'],
        toDerive: [],
        guesses: ['growth is about 10%'],
      },
      plan: ['researcher: find Q2 revenue', 'writer: draft the summary'],
    };
    const progressLedger = {
      requestSatisfied: { answer: false, reason: 'no draft yet' },
      inLoop: { answer: false, reason: 'first round' },
      progressBeingMade: { answer: true, reason: 'facts gathered' },
      nextSpeaker: { answer: 'writer', reason: 'the facts are in' },
      instruction: { answer: 'Draft the summary', reason: 'next step of the plan' },
    };

    function printAll(events: Event[], options: { env?: Record<string, string>; isTTY?: boolean } = {}) {
      const out = capture(options.isTTY === undefined ? {} : { isTTY: options.isTTY, columns: 200 });
      const printer = new ProgressPrinter(out, createStyle(out, options.env ?? {}));
      for (const event of events) printer.print(at(event));
      printer.finish();
      return out.text;
    }

    it('prints pattern-start with the members', () => {
      expect(
        printAll([
          { type: 'pattern-start', scope: 'r', ...groupChat, members: ['writer', 'critic', 'editor'] },
        ]),
      ).toBe('▸ groupChat "review" with writer, critic, editor\n');
    });

    it('prints speaker-selected with the round and the reason, and without a reason when there is none', () => {
      expect(
        printAll([
          {
            type: 'speaker-selected',
            scope: 'r',
            ...groupChat,
            round: 2,
            speaker: 'critic',
            reason: 'asked to check',
          },
          { type: 'speaker-selected', scope: 'r', ...groupChat, round: 3, speaker: 'editor' },
        ]),
      ).toBe(['  round 2 → critic (asked to check)', '  round 3 → editor', ''].join('\n'));
    });

    it('prints a task ledger as fact counts and the numbered plan', () => {
      expect(
        printAll([
          {
            type: 'ledger-update',
            scope: 'r',
            pattern: 'magentic',
            name: 'research',
            ledger: 'task',
            round: 0,
            data: taskLedger,
          },
        ]),
      ).toBe(
        [
          '  ≡ task ledger, round 0: facts 2 given, 1 to look up, 0 to derive, 1 guesses; plan of 2 steps',
          '    1. researcher: find Q2 revenue',
          '    2. writer: draft the summary',
          '',
        ].join('\n'),
      );
    });

    it('prints a progress ledger as its answers: satisfied, loop, progress, next speaker, instruction', () => {
      expect(
        printAll([
          {
            type: 'ledger-update',
            scope: 'r',
            pattern: 'magentic',
            name: 'research',
            ledger: 'progress',
            round: 3,
            data: progressLedger,
          },
        ]),
      ).toBe(
        '  ≡ progress ledger, round 3: satisfied no · loop no · progress yes · next writer · “Draft the summary”\n',
      );
    });

    it('prints other ledgers, and ledgers with odd fields, as one truncated line', () => {
      const scores = { scores: Array.from({ length: 60 }, (_, index) => index), best: 'draft 3' };
      const text = printAll([
        {
          type: 'ledger-update',
          scope: 'r',
          pattern: 'loop',
          name: 'polish',
          ledger: 'scores',
          round: 1,
          data: scores,
        },
        {
          type: 'ledger-update',
          scope: 'r',
          pattern: 'magentic',
          name: 'm',
          ledger: 'task',
          round: 0,
          data: { facts: 'all known', plan: 'just do it' },
        },
        {
          type: 'ledger-update',
          scope: 'r',
          pattern: 'magentic',
          name: 'm',
          ledger: 'progress',
          round: 1,
          data: { nextSpeaker: 'writer', inLoop: {} },
        },
        {
          type: 'ledger-update',
          scope: 'r',
          pattern: 'loop',
          name: 'polish',
          ledger: 'scores',
          round: 2,
          data: null,
        },
      ]);
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^ {2}≡ scores ledger, round 1: \{"scores":\[0,1,2,.*…$/);
      expect(lines[0]!.length).toBeLessThanOrEqual(2 + 2 + 160);
      expect(lines.slice(1)).toEqual([
        '  ≡ task ledger, round 0: facts 0 given, 0 to look up, 0 to derive, 0 guesses, 1 ungrouped; plan of 1 step',
        '    1. just do it',
        '  ≡ progress ledger, round 1: loop ? · next writer',
        '  ≡ scores ledger, round 2: null',
        '',
      ]);
    });

    it('does not repeat a ledger or decision step as a finished step, but still shows other steps and failures', () => {
      const stepEnd = (
        name: string,
        meta: Record<string, unknown>,
        status: 'completed' | 'failed' = 'completed',
      ) =>
        ({
          type: 'step-end',
          key: 'r#1',
          name,
          kind: 'step',
          durationMs: 0,
          status,
          meta,
          ...(status === 'failed' ? { error: { name: 'Error', message: 'disk full' } } : {}),
        }) as Event;
      expect(
        printAll([
          stepEnd('ledger:task', { ledger: 'task', pattern: 'magentic', round: 0 }),
          stepEnd('decision:loop', { decision: 'stop', pattern: 'loop' }),
          stepEnd('fetch', {}),
          stepEnd('ledger:progress', { ledger: 'progress', pattern: 'magentic', round: 1 }, 'failed'),
        ]),
      ).toBe(['  ✓ fetch 0ms', '  ✗ ledger:progress failed: disk full', ''].join('\n'));
    });

    it('prints a decision with its reasons, and pattern-end with the outcome', () => {
      expect(
        printAll([
          {
            type: 'pattern-decision',
            scope: 'r',
            pattern: 'makerChecker',
            name: 'code',
            decision: 'approved',
            reasons: ['tests pass', 'style ok'],
          },
          {
            type: 'pattern-decision',
            scope: 'r',
            pattern: 'adaptive',
            name: 'a',
            decision: 'chose sequential',
            reasons: [],
          },
          { type: 'pattern-end', scope: 'r', pattern: 'makerChecker', name: 'code', outcome: 'approved' },
        ]),
      ).toBe(
        [
          '  ◆ approved — tests pass; style ok',
          '  ◆ chose sequential',
          '◂ makerChecker "code" ended: approved',
          '',
        ].join('\n'),
      );
    });

    it('indents a nested pattern by its scope depth, between the agents it runs', () => {
      const text = printAll([
        {
          type: 'pattern-start',
          scope: 'r',
          pattern: 'sequential',
          name: 'pipeline',
          members: ['review', 'publisher'],
        },
        { type: 'pattern-start', scope: 'r/0', ...groupChat, members: ['writer', 'critic'] },
        { type: 'speaker-selected', scope: 'r/0', ...groupChat, round: 1, speaker: 'writer' },
        { type: 'agent-start', scope: 'r/0', agent: 'writer' },
        { type: 'model-delta', scope: 'r/0', agent: 'writer', text: 'Draft.' },
        {
          type: 'step-end',
          key: 'r/0#0',
          name: 'model:writer',
          kind: 'model',
          durationMs: 1,
          status: 'completed',
        },
        {
          type: 'pattern-decision',
          scope: 'r/0',
          ...groupChat,
          decision: 'terminate',
          reasons: ['critic approved'],
        },
        { type: 'pattern-end', scope: 'r/0', ...groupChat, outcome: 'approved' },
        { type: 'pattern-start', scope: 'r/1.0/2', pattern: 'loop', name: 'polish', members: ['editor'] },
        { type: 'pattern-end', scope: 'r', pattern: 'sequential', name: 'pipeline', outcome: 'completed' },
      ]);
      expect(text).toBe(
        [
          '▸ sequential "pipeline" with review, publisher',
          '  ▸ groupChat "review" with writer, critic (r/0)',
          '    round 1 → writer',
          '',
          '● writer (r/0)',
          '  Draft.',
          '    ◆ terminate — critic approved',
          '  ◂ groupChat "review" ended: approved',
          '    ▸ loop "polish" with editor (r/1.0/2)',
          '◂ sequential "pipeline" ended: completed',
          '',
        ].join('\n'),
      );
    });

    it('holds pattern lines of a parallel branch back while another branch streams', () => {
      const text = printAll([
        { type: 'agent-start', scope: 'r/0.0', agent: 'optimist' },
        { type: 'model-delta', scope: 'r/0.0', agent: 'optimist', text: 'Sunny.' },
        { type: 'speaker-selected', scope: 'r/0.1', ...groupChat, round: 1, speaker: 'critic' },
        { type: 'model-delta', scope: 'r/0.0', agent: 'optimist', text: ' Warm.' },
        {
          type: 'step-end',
          key: 'r/0.0#0',
          name: 'model:optimist',
          kind: 'model',
          durationMs: 1,
          status: 'completed',
        },
      ]);
      expect(text).toBe(['', '● optimist (r/0.0)', '  Sunny. Warm.', '    round 1 → critic', ''].join('\n'));
    });

    it('colors pattern lines on a terminal, and not with NO_COLOR', () => {
      const events: Event[] = [
        { type: 'pattern-start', scope: 'r', ...groupChat, members: ['writer'] },
        { type: 'speaker-selected', scope: 'r', ...groupChat, round: 1, speaker: 'writer', reason: 'first' },
        {
          type: 'ledger-update',
          scope: 'r',
          pattern: 'magentic',
          name: 'm',
          ledger: 'task',
          round: 0,
          data: taskLedger,
        },
        { type: 'pattern-decision', scope: 'r', ...groupChat, decision: 'terminate', reasons: ['done'] },
        { type: 'pattern-end', scope: 'r', ...groupChat, outcome: 'approved' },
      ];
      const colored = printAll(events, { isTTY: true });
      const plain = printAll(events, { isTTY: true, env: { NO_COLOR: '1' } });
      expect(colored).toContain('\u001b[');
      expect(plain).not.toContain('\u001b[');
      expect(stripAnsi(colored)).toBe(plain);
      expect(plain).toContain('◆ terminate — done');
    });
  });
});
