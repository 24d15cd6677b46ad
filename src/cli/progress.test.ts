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
});
