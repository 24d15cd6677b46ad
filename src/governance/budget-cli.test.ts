import { describe, expect, it } from 'vitest';
import type { CliContext } from '../cli/command.js';
import { runsTable } from '../cli/commands/runs.js';
import { runSummary } from '../cli/commands/show.js';
import { createStyle } from '../cli/output.js';
import { printOutcome } from '../cli/session.js';
import type { RunRecord } from '../core/store.js';

function writer() {
  let text = '';
  return {
    stream: {
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
      isTTY: false,
    },
    text: () => text,
  };
}

const stopped: RunRecord = {
  id: 'run_budget',
  target: 'researcher',
  targetVersion: '1',
  input: 'Dig',
  status: 'budget-exceeded',
  output: {
    agent: 'researcher',
    text: 'Three sources so far.',
    turns: 2,
    spend: { turns: 2, tokens: 90, costUsd: 0 },
  },
  error: {
    name: 'BudgetExceededError',
    message: `The run's budget ran out (turns): it has taken 2 of 2 turns.`,
    code: 'BUDGET_EXCEEDED',
  },
  usage: { inputTokens: 80, outputTokens: 10, totalTokens: 90 },
  costUsd: 0,
  createdAt: 1_000,
  updatedAt: 2_000,
  endedAt: 2_000,
  schemaVersion: 1,
};

describe('CLI output for budget-exceeded runs', () => {
  it('prints the reason and the partial result and exits 1; runs and show list the status', () => {
    const out = writer();
    const err = writer();
    const env = { NO_COLOR: '1' };
    const style = createStyle(out.stream as never, env);
    const context = {
      stdout: out.stream,
      stderr: err.stream,
      style,
      errorStyle: style,
      env,
      cwd: '/',
      storePath: '/tmp/x.db',
      storeFlag: '',
      verbose: false,
    } as unknown as CliContext;
    const code = printOutcome(stopped, { waitingFor: [], wakeAt: undefined }, context, {
      quiet: false,
      json: false,
    });
    expect(code).toBe(1);
    expect(out.text()).toContain('✗ Budget exceeded');
    expect(out.text()).toContain(`The run's budget ran out (turns)`);
    expect(out.text()).toContain('Partial result');
    expect(out.text()).toContain('Three sources so far.');
    expect(runsTable([stopped], style, 3_000)).toContain('budget-exceeded');
    expect(runSummary(stopped, style)).toContain('Three sources so far.');
  });
});
