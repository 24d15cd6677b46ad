import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../index.js';
import { stepTreeText } from './commands/show.js';
import { createStyle } from './output.js';
import { buildStepTree, type StepNode } from './step-tree.js';

let clock = 1000;
function entry(key: string, name: string, extra: Partial<JournalEntry> = {}): JournalEntry {
  const startedAt = clock;
  clock += 10;
  return {
    runId: 'run_1',
    key,
    name,
    kind: name.startsWith('model')
      ? 'model'
      : name.startsWith('tool')
        ? 'tool'
        : name.startsWith('run:')
          ? 'child'
          : 'step',
    status: 'completed',
    startedAt,
    endedAt: clock,
    ...extra,
  };
}

function outline(nodes: readonly StepNode[], depth = 0): string[] {
  return nodes.flatMap((node) => [
    `${'  '.repeat(depth)}${node.name} [${node.status}]`,
    ...outline(node.children, depth + 1),
  ]);
}

const usage = (inputTokens: number, outputTokens: number) => ({
  usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
});

describe('buildStepTree', () => {
  it('keeps a flat run in sequence order', () => {
    const tree = buildStepTree([
      entry('r#0', 'model:triage'),
      entry('r#1', 'tool:lookup_order'),
      entry('r#2', 'model:triage'),
    ]);
    expect(outline(tree)).toEqual([
      'model:triage [completed]',
      'tool:lookup_order [completed]',
      'model:triage [completed]',
    ]);
  });

  it("nests a child run's steps under its run: entry, which the journal writes after them", () => {
    const tree = buildStepTree([
      entry('r#0', 'model:lead', { meta: { agent: 'lead', ...usage(10, 5), costUsd: 0.001 } }),
      entry('r/1#0', 'model:researcher', { meta: { agent: 'researcher', ...usage(20, 8), costUsd: 0.002 } }),
      entry('r/1#1', 'tool:search'),
      entry('r#1', 'run:researcher'),
      entry('r#2', 'model:lead'),
    ]);
    expect(outline(tree)).toEqual([
      'model:lead [completed]',
      'run:researcher [completed]',
      '  model:researcher [completed]',
      '  tool:search [completed]',
      'model:lead [completed]',
    ]);
    const child = tree[1] as StepNode;
    expect(child.usage).toEqual({ inputTokens: 20, outputTokens: 8, totalTokens: 28 });
    expect(child.costUsd).toBeCloseTo(0.002);
  });

  it('groups parallel branches (scopes r/N.I) under a parallel node at r#N, branches in index order', () => {
    const tree = buildStepTree([
      entry('r/0.1#0', 'model:technical'),
      entry('r/0.0/0#0', 'model:fundamental'),
      entry('r/0.0#0', 'run:fundamental'),
      entry('r/0.1#1', 'tool:chart'),
      entry('r#1', 'run:synthesizer'),
    ]);
    expect(outline(tree)).toEqual([
      'parallel [completed]',
      '  branch 0 [completed]',
      '    run:fundamental [completed]',
      '      model:fundamental [completed]',
      '  branch 1 [completed]',
      '    model:technical [completed]',
      '    tool:chart [completed]',
      'run:synthesizer [completed]',
    ]);
    expect(tree[0]?.synthetic).toBe(true);
    expect(tree[0]?.durationMs).toBeGreaterThan(0);
  });

  it('shows an unfinished child run as pending, nests timers under their wait, and keeps failures', () => {
    const tree = buildStepTree([
      entry('r#0', 'tool:charge', {
        status: 'failed',
        error: { name: 'Error', message: 'card declined' },
      }),
      entry('r/1#0', 'quote'),
      entry('r/1#1~timer', 'timer', { kind: 'timer' }),
      entry('r#2~timer', 'timer', { kind: 'timer' }),
    ]);
    expect(outline(tree)).toEqual([
      'tool:charge [failed]',
      '(child run, not finished) [pending]',
      '  quote [completed]',
      '  timer [completed]',
      'timer [completed]',
    ]);
    expect(tree[0]?.error?.message).toBe('card declined');
  });

  it('nests a sub-key entry under the entry at its position', () => {
    const tree = buildStepTree([
      entry('r#0~timer', 'timer', { kind: 'timer' }),
      entry('r#0', 'waitFor:approval', { kind: 'signal' }),
    ]);
    expect(outline(tree)).toEqual(['waitFor:approval [completed]', '  timer [completed]']);
  });

  it('marks a parallel group failed when a branch failed, and keeps entries with unknown keys at the end', () => {
    const tree = buildStepTree([
      entry('r/0.0#0', 'tool:a'),
      entry('r/0.1#0', 'tool:b', { status: 'failed', error: { name: 'Error', message: 'boom' } }),
      entry('legacy-key', 'old'),
    ]);
    expect(outline(tree)).toEqual([
      'parallel [failed]',
      '  branch 0 [completed]',
      '    tool:a [completed]',
      '  branch 1 [failed]',
      '    tool:b [failed]',
      'old [completed]',
    ]);
  });

  it('returns an empty tree for an empty journal', () => {
    expect(buildStepTree([])).toEqual([]);
  });
  describe('pattern ledgers and decisions', () => {
    const ledger = (
      key: string,
      name: string,
      round: number,
      result: unknown,
      extra: Partial<JournalEntry> = {},
    ) =>
      entry(key, `ledger:${name}`, { result, meta: { ledger: name, pattern: 'magentic', round }, ...extra });
    const plain = createStyle({ write: () => true }, {});

    it('spells out a task ledger: facts by group, then the numbered plan', () => {
      const [node] = buildStepTree([
        ledger('r#0', 'task', 0, {
          facts: {
            given: ['Q3 revenue is 4.2M', 'audience: the board'],
            toLookUp: ['Q2 revenue'],
            toDerive: ['growth Q2 to Q3'],
            guesses: [],
          },
          plan: ['researcher: find Q2 revenue', 'writer: draft the summary'],
        }),
      ]);
      expect(node?.details).toEqual([
        'facts',
        '  given:',
        '    - Q3 revenue is 4.2M',
        '    - audience: the board',
        '  to look up:',
        '    - Q2 revenue',
        '  to derive:',
        '    - growth Q2 to Q3',
        '  guesses: (none)',
        'plan',
        '  1. researcher: find Q2 revenue',
        '  2. writer: draft the summary',
      ]);
    });

    it('spells out a progress ledger: each question with its answer and reason', () => {
      const [node] = buildStepTree([
        ledger('r#3', 'progress', 2, {
          requestSatisfied: { answer: false, reason: 'no draft yet' },
          inLoop: { answer: false, reason: 'first time writer is asked' },
          progressBeingMade: { answer: true, reason: 'Q2 revenue found' },
          nextSpeaker: { answer: 'writer', reason: 'the facts are complete' },
          instruction: { answer: 'Draft the summary\nin 3 bullets', reason: 'plan step 2' },
        }),
      ]);
      expect(node?.details).toEqual([
        'request satisfied?    no — no draft yet',
        'in a loop?            no — first time writer is asked',
        'progress being made?  yes — Q2 revenue found',
        'next speaker          writer — the facts are complete',
        'instruction           Draft the summary in 3 bullets — plan step 2',
      ]);
    });

    it('copes with missing and odd ledger fields', () => {
      const tree = buildStepTree([
        ledger('r#0', 'task', 0, { plan: 'one big step', facts: { given: 'a single fact', extra: [1, 2] } }),
        ledger('r#1', 'task', 0, { facts: ['loose fact'] }),
        ledger('r#2', 'progress', 1, {
          requestSatisfied: true,
          nextSpeaker: { reason: 'unclear' },
          mood: 'tired',
        }),
        ledger('r#3', 'progress', 2, undefined, { status: 'failed', error: { name: 'Error', message: 'x' } }),
      ]);
      expect(tree[0]?.details).toEqual([
        'facts',
        '  given:',
        '    - a single fact',
        '  to look up: (none)',
        '  to derive: (none)',
        '  guesses: (none)',
        '  extra:',
        '    - 1',
        '    - 2',
        'plan',
        '  1. one big step',
      ]);
      expect(tree[1]?.details).toEqual([
        'facts',
        '  given: (none)',
        '  to look up: (none)',
        '  to derive: (none)',
        '  guesses: (none)',
        '  ungrouped:',
        '    - loose fact',
        'plan: (none)',
      ]);
      expect(tree[2]?.details).toEqual([
        'request satisfied?    yes',
        'in a loop?            (not answered)',
        'progress being made?  (not answered)',
        'next speaker          ? — unclear',
        'instruction           (not answered)',
        'mood                  tired',
      ]);
      expect(tree[3]?.details).toBeUndefined();
    });

    it('prints a ledger it does not know as indented JSON, at most 20 lines', () => {
      const [small, large] = buildStepTree([
        ledger('r#0', 'scores', 1, { best: 'draft 2', score: 0.8 }),
        ledger('r#1', 'scores', 2, { history: Array.from({ length: 50 }, (_, index) => index) }),
      ]);
      expect(small?.details).toEqual(['{', '  "best": "draft 2",', '  "score": 0.8', '}']);
      expect(large?.details).toHaveLength(20);
      expect(large?.details?.[19]).toBe('… 35 more lines');
    });

    it('spells out a decision with its reasons and data, naming it from meta when the result lacks it', () => {
      const [chosen, bare] = buildStepTree([
        entry('r#0', 'decision:adaptive', {
          result: {
            decision: 'sequential',
            reasons: ['steps depend on each other', 'low budget'],
            data: { k: 1 },
          },
          meta: { decision: 'sequential', pattern: 'adaptive' },
        }),
        entry('r#1', 'decision:makerChecker', {
          result: 'approved',
          meta: { decision: 'approved', pattern: 'makerChecker' },
        }),
      ]);
      expect(chosen?.details).toEqual([
        'decision: sequential',
        'reasons:',
        '  - steps depend on each other',
        '  - low budget',
        'data: {"k":1}',
      ]);
      expect(bare?.details).toEqual(['decision: approved', 'reasons: (none given)', 'recorded: approved']);
    });

    it('leaves other steps without details, and baton show prints ledgers and decisions under their step', () => {
      const tree = buildStepTree([
        ledger('r#0', 'task', 0, { facts: { given: ['x'] }, plan: ['ask writer'] }),
        entry('r#1', 'model:writer', { result: { text: 'hi' }, meta: { agent: 'writer' } }),
        entry('r#2', 'decision:groupChat', {
          result: { decision: 'terminate', reasons: ['approved'] },
          meta: { decision: 'terminate', pattern: 'groupChat' },
        }),
      ]);
      expect(tree[1]?.details).toBeUndefined();
      const text = stepTreeText(tree, plain);
      const lines = text.split('\n');
      expect(lines[1]).toMatch(/^ {2}├─ ✓ ledger:task\s+step\s+\d+ms\s+pattern magentic · round 0$/);
      expect(lines.slice(2, 10)).toEqual([
        '  │     facts',
        '  │       given:',
        '  │         - x',
        '  │       to look up: (none)',
        '  │       to derive: (none)',
        '  │       guesses: (none)',
        '  │     plan',
        '  │       1. ask writer',
      ]);
      expect(lines[10]).toMatch(/^ {2}├─ ✓ model:writer\s+model/);
      expect(lines[11]).toMatch(/^ {2}└─ ✓ decision:groupChat\s+step\s+\d+ms\s+pattern groupChat$/);
      expect(lines.slice(12)).toEqual([
        '        decision: terminate',
        '        reasons:',
        '          - approved',
        '',
      ]);
    });
  });
});
