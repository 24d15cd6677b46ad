import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../core/store.js';
import { guardedJournal, settledLength, withGuardedInput } from './guarded-journal.js';

const entry = (
  key: string,
  name: string,
  kind: JournalEntry['kind'],
  extra: Partial<JournalEntry> = {},
): JournalEntry => ({
  runId: 'run_1',
  key,
  name,
  kind,
  status: 'completed',
  startedAt: 0,
  endedAt: 0,
  ...extra,
});

const decision = (key: string, stage: string, text: string, tool?: string) =>
  entry(key, 'guardrail:pii', 'step', {
    result: { action: 'rewrite', text, reason: 'redacted' },
    meta: { stage, guardrail: 'pii', ...(tool === undefined ? {} : { tool }) },
  });

describe('guardedJournal', () => {
  it('rewrites tool outputs, answers, tool-call arguments (by branch) and the input; leaves the journal given alone', () => {
    const journal = [
      decision('r#0', 'input', 'mail [email]'),
      entry('r#1', 'model:a', 'model', {
        result: {
          text: '',
          toolCalls: [
            { toolName: 'send', input: '{"to":"x@y.z"}' },
            { toolName: 'send', input: '{"to":"u@v.w"}' },
          ],
        },
      }),
      decision('r/2.1#0', 'tool-input', '{"to":"[email 2]"}', 'send'),
      entry('r/2.1#1', 'tool:send', 'tool', { result: 'sent to u@v.w', meta: { tool: 'send' } }),
      decision('r/2.1#2', 'tool-output', 'sent to [email 2]', 'send'),
      entry('r/2.0#0', 'tool:send', 'tool', { result: 'sent to x@y.z', meta: { tool: 'send' } }),
      entry('r#2', 'parallel', 'parallel'),
      entry('r#3', 'model:a', 'model', { result: { text: 'done: x@y.z' } }),
      decision('r#4', 'output', 'done: [email]'),
    ];
    const before = JSON.stringify(journal);
    const shown = guardedJournal(journal);
    expect(JSON.stringify(journal)).toBe(before);
    expect(
      (shown[1]!.result as { toolCalls: { input: string }[] }).toolCalls.map((call) => call.input),
    ).toEqual(['{"to":"x@y.z"}', '{"to":"[email 2]"}']);
    expect(shown[3]?.result).toBe('sent to [email 2]');
    expect(shown[5]?.result).toBe('sent to x@y.z');
    expect((shown[7]!.result as { text: string }).text).toBe('done: [email]');
    expect(withGuardedInput({ input: 'mail me@x.y' }, journal).input).toBe('mail [email]');
  });
});

describe('settledLength', () => {
  const journal = [
    entry('r#0', 'model:a', 'model'),
    entry('r#1', 'tool:t', 'tool'),
    entry('r/2#0', 'inner', 'step'),
    entry('r/2#1', 'model:b', 'model'),
  ];
  it('holds a model or tool step of a running run until a later entry in its scope, an enclosing one or one opened after it', () => {
    expect(settledLength(journal, 'running')).toBe(3);
    expect(settledLength(journal.slice(0, 1), 'running')).toBe(0);
    expect(settledLength([...journal, entry('r#2', 'run:b', 'child')], 'running')).toBe(5);
    expect(settledLength(journal.slice(0, 3), 'running')).toBe(3);
    // A sibling branch does not settle a tool step; a step of the enclosing scope does.
    const branches = [entry('r/1.0#0', 'tool:t', 'tool'), entry('r/1.1#0', 'tool:u', 'tool')];
    expect(settledLength(branches, 'running')).toBe(0);
    expect(settledLength([...branches, entry('r#1', 'parallel', 'parallel')], 'running')).toBe(3);
  });
  it('settles everything once the run is not running', () => {
    expect(settledLength(journal, 'suspended')).toBe(4);
    expect(settledLength(journal, 'completed')).toBe(4);
  });
});
