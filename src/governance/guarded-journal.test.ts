import { describe, expect, it } from 'vitest';
import type { Message } from '../context/messages.js';
import type { JournalEntry } from '../core/store.js';
import { guardedJournal, guardedMessages, settledLength, withGuardedInput } from './guarded-journal.js';

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

const decision = (key: string, stage: string, text: string, tool?: string, guardrail = 'pii') =>
  entry(key, `guardrail:${guardrail}`, 'step', {
    result: { action: 'rewrite', text, reason: 'redacted' },
    meta: { stage, guardrail, ...(tool === undefined ? {} : { tool }) },
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

describe('guardedJournal: chains of decisions and the arguments calls ran with', () => {
  it("shows each decision of a chain with the chain's last text (an earlier one may hold what a later one redacted)", () => {
    const journal = [
      decision('r#0', 'input', 'mail [email] with sk-123', undefined, 'pii'),
      decision('r#1', 'input', 'mail [email] with [key]', undefined, 'secrets'),
      entry('r#2', 'model:a', 'model', { result: { text: 'ok' } }),
      decision('r#3', 'output', 'ok [email]', undefined, 'pii'),
      // Another text (a second chain): the same guardrail again.
      decision('r#4', 'output', 'again [email]', undefined, 'pii'),
      decision('r#5', 'output', 'again [email] [key]', undefined, 'secrets'),
    ];
    const shown = guardedJournal(journal);
    expect(shown.map((step) => (step.result as { text?: string }).text)).toEqual([
      'mail [email] with [key]',
      'mail [email] with [key]',
      'again [email] [key]',
      'ok [email]',
      'again [email] [key]',
      'again [email] [key]',
    ]);
    expect(journal[0]?.result).toMatchObject({ text: 'mail [email] with sk-123' });
    const tripped = entry('r#1', 'guardrail:secrets', 'step', {
      result: { action: 'trip', reason: 'it contains secrets' },
      meta: { stage: 'input', guardrail: 'secrets' },
    });
    expect(guardedJournal([journal[0] as JournalEntry, tripped])[0]?.result).toMatchObject({
      text: '[withheld: guardrail secrets tripped: it contains secrets]',
    });
  });

  it("replaces the arguments of a model's tool call by those the call ran with (tool step, approval request), by toolCallId", () => {
    const model = entry('r#0', 'model:a', 'model', {
      result: {
        text: '',
        toolCalls: [
          { toolCallId: 'c1', toolName: 'send', input: '{"to":"x@y.z"}' },
          { toolCallId: 'c2', toolName: 'send', input: '{"to":"u@v.w"}' },
          { toolCallId: 'c3', toolName: 'send', input: '{ "to": "ok" }' },
        ],
      },
    });
    const journal = [
      model,
      entry('r/1.0#0', 'tool:send', 'tool', {
        result: 'sent',
        meta: { tool: 'send', toolCallId: 'c1', input: '{"to":"[email]"}' },
      }),
      entry('r/1.1#0', 'approval:send', 'step', {
        result: { kind: 'approval', toolCallId: 'c2', input: { to: '[email 2]' } },
      }),
      // The same arguments, written otherwise: left as the model wrote them.
      entry('r/1.2#0', 'approval:send', 'step', {
        result: { kind: 'approval', toolCallId: 'c3', input: { to: 'ok' } },
      }),
    ];
    const calls = (
      guardedJournal(journal)[0] as JournalEntry & { result: { toolCalls: { input: string }[] } }
    ).result.toolCalls;
    expect(calls.map((call) => call.input)).toEqual([
      '{"to":"[email]"}',
      '{"to":"[email 2]"}',
      '{ "to": "ok" }',
    ]);
    expect(JSON.stringify(model)).toContain('x@y.z');

    const messages: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'mail them' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Mailing.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'send', input: { to: 'x@y.z' } },
          { type: 'tool-call', toolCallId: 'c3', toolName: 'send', input: { to: 'ok' } },
        ],
      },
    ];
    const shown = guardedMessages(messages, journal);
    expect(shown[0]).toBe(messages[0]);
    expect(shown[1]?.content).toEqual([
      { type: 'text', text: 'Mailing.' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'send', input: { to: '[email]' } },
      { type: 'tool-call', toolCallId: 'c3', toolName: 'send', input: { to: 'ok' } },
    ]);
    expect(JSON.stringify(messages)).toContain('x@y.z');
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
  it("holds a running run's guardrail decision until a later entry in its scope (the next guardrail may rewrite its text)", () => {
    const decided = [decision('r#0', 'input', 'mail [email] with sk-1')];
    expect(settledLength(decided, 'running')).toBe(0);
    const chained = [...decided, decision('r#1', 'input', 'mail [email] with [key]', undefined, 'secrets')];
    expect(settledLength(chained, 'running')).toBe(1);
    expect(settledLength([...chained, entry('r#2', 'model:a', 'model')], 'running')).toBe(2);
  });
  it('settles everything once the run is not running', () => {
    expect(settledLength(journal, 'suspended')).toBe(4);
    expect(settledLength(journal, 'completed')).toBe(4);
  });
});
