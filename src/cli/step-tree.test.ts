import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../index.js';
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
});
