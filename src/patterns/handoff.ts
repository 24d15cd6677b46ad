/** handoff(): triage and transfer of control between agents, with input filters and a guard against ping-pong. */

import type { Agent } from '../agents/agent.js';
import { type InputFilter, type Transfer, transfer } from '../agents/handoff.js';
import type { AgentInput } from '../agents/messages.js';
import { runAgent } from '../agents/run-agent.js';
import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import { announceStart } from './shared.js';

/** Options of `handoff()`. */
export interface HandoffOptions {
  name: string;
  version?: string;
  /** The agent that receives the input (triage). */
  entry: Agent<unknown>;
  /** Specialists the entry agent can transfer to. */
  agents: readonly Agent<unknown>[];
  /** Let specialists hand back to the entry agent. Default false. */
  allowReturn?: boolean;
  /** Filter applied to the conversation on every transfer this pattern adds. */
  inputFilter?: InputFilter;
  /** Transfers allowed in one run before it fails. Default 8. */
  maxHandoffs?: number;
}

/**
 * A team where the entry agent routes the conversation to a specialist by calling
 * `transfer_to_<agent>`. The run's output is the answer of the agent that finishes.
 *
 * @example
 * ```ts
 * const support = handoff({ name: 'support', entry: triage, agents: [billing, technical] });
 * const handle = await runtime.start(support, 'My card was charged twice');
 * ```
 */
export function handoff<OUTPUT = string>(options: HandoffOptions): Runnable<AgentInput, OUTPUT> {
  assertName('pattern', options?.name);
  const where = `handoff("${options.name}")`;
  if (options.entry?.kind !== 'agent') throw new ConfigError(`${where}: entry must be an agent.`);
  if (!Array.isArray(options.agents) || options.agents.length === 0)
    throw new ConfigError(`${where}: agents must be a non-empty array of agents.`);
  for (const [index, member] of options.agents.entries()) {
    if (member?.kind !== 'agent') throw new ConfigError(`${where}: agents[${index}] is not an agent.`);
  }
  const maxHandoffs = options.maxHandoffs ?? 8;
  const filter = options.inputFilter === undefined ? {} : { inputFilter: options.inputFilter };
  const fromEntry: Transfer[] = options.agents.map((member) => transfer(member, filter));
  const backToEntry: Transfer[] = options.allowReturn === true ? [transfer(options.entry, filter)] : [];
  const extraHandoffs = (current: Agent<unknown>): readonly Transfer[] =>
    current === options.entry ? fromEntry : options.agents.includes(current) ? backToEntry : [];
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
      announceStart(ctx, 'handoff', options.name, [
        options.entry.name,
        ...options.agents.map((member) => member.name),
      ]);
      let count = 0;
      const result = await runAgent(ctx, options.entry, input, {
        extraHandoffs,
        onHandoff: (from, to) => {
          count++;
          if (count > maxHandoffs) {
            throw new ModelBehaviorError(
              `${where}: more than ${maxHandoffs} handoffs in one run (last ${from.name} -> ${to.name}); the agents are passing the conversation back and forth.`,
              {
                agent: from.name,
                code: 'HANDOFF_LIMIT',
                runId: ctx.runId,
              },
            );
          }
        },
      });
      return result.output as OUTPUT;
    },
  };
}
