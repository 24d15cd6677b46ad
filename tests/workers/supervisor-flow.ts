/** The supervisor the distributed-delegation tests run: a manager delegates `count` units in one turn, then adds their results. */

import { agent, type RunContext, supervisor, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { effectLog } from './worker-flow.js';

/** The input the manager gets: how many delegations to make in its first turn. */
export function supervisorRequest(count: number): string {
  return `delegate ${count}`;
}

/**
 * A supervisor with `distribute: true`: its manager asks the worker `unit` for 2n + 1 for each n
 * below the count (all in its first turn), then answers `total <sum>`. Each unit is one step
 * that logs which process ran it.
 */
export function supervisorTeam(logPath: string, stepMs = 100) {
  const effect = effectLog(logPath, stepMs);
  const unit = workflow({ name: 'sup-unit', version: '1' }, async (ctx: RunContext, request: string) => {
    const n = Number(request);
    return (await ctx.step('work', () => effect(ctx.runId, 'work', 2 * n + 1))) as number;
  });
  const model = scriptedModel(({ turn, prompt }) => {
    const user = prompt.find((message) => message.role === 'user');
    const text =
      user?.role === 'user'
        ? user.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
        : '';
    const count = Number(/delegate (\d+)/.exec(text)?.[1] ?? 0);
    if (turn === 0)
      return {
        toolCalls: Array.from({ length: count }, (_, n) => ({ tool: 'unit', input: { input: String(n) } })),
      };
    let total = 0;
    for (const message of prompt) {
      if (message.role !== 'tool') continue;
      for (const part of message.content)
        if (part.type === 'tool-result' && 'value' in part.output) total += Number(part.output.value);
    }
    return { text: `total ${total}` };
  });
  const lead = agent({ name: 'sup-lead', instructions: 'Delegate each number, then add.', model });
  return supervisor({
    name: 'sup-team',
    manager: lead,
    workers: [{ run: unit, name: 'unit', description: 'Computes 2n + 1 for the number n' }],
    maxDelegations: 1000,
    distribute: true,
  });
}
