/** supervisor(): a manager agent that delegates to workers (any runnables) through tools and writes the final answer. */

import type { Agent, AnyTool } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import type { AgentRunResult } from '../agents/run-agent.js';
import type { AgentInput } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import { runnableTool } from '../tools/tool.js';
import { announceEnd, announceSpeaker, announceStart, checkCount, checkRunnable } from './shared.js';

/** A worker with the description the manager chooses it by, and optionally its tool name. */
export interface SupervisorWorker {
  run: AnyRunnable;
  /** What the worker does; the delegation tool's description, which the manager reads. */
  description: string;
  /** The tool name the manager calls; default the runnable's name (other characters replaced by `_`). */
  name?: string;
}

/** Options of `supervisor()`. */
export interface SupervisorOptions<OUTPUT> {
  name: string;
  version?: string;
  /** The agent that plans, delegates and writes the final answer. */
  manager: Agent<OUTPUT>;
  /**
   * Agents (described by their `description`), or any runnable with a description: other
   * supervisors, group chats, workflows. Each becomes a tool the manager calls with a request.
   */
  workers: readonly (AnyRunnable | SupervisorWorker)[];
  /** Delegations allowed in one run; further ones are refused with a note to answer now. Default 10. */
  maxDelegations?: number;
  /** Text appended to the manager's instructions (for example how to split the work). */
  instructions?: string;
  /**
   * Dispatch each delegation as a run of its own (`<run id>.child.<key>`), for any worker to
   * execute, while the manager waits durably for its result (on a runtime with a dispatcher;
   * elsewhere workers run inline). A worker process that dies costs only its unfinished
   * delegations. Default false.
   */
  distribute?: boolean;
}

const supervisorOptionNames = optionNames<SupervisorOptions<unknown>>(
  {
    name: true,
    version: true,
    manager: true,
    workers: true,
    maxDelegations: true,
    instructions: true,
    distribute: true,
  },
  { agents: 'workers', members: 'workers' },
);

/**
 * Hierarchical delegation. The manager agent gets one tool per worker; calling it runs the
 * worker as a child run (journaled, resumable) with the manager's request, and the worker's
 * output comes back as the tool result. Several calls in one turn run concurrently. The
 * manager's final answer (typed by its `output` schema) is the run's output. Workers can be
 * supervisors themselves, so hierarchies nest to any depth.
 *
 * @example
 * ```ts
 * const research = supervisor({
 *   name: 'research',
 *   manager: agent({ name: 'lead', model, instructions: 'Split the question, delegate, then write the report.' }),
 *   workers: [webSearcher, { run: paperReview, description: 'Finds and summarizes papers on a topic' }],
 *   maxDelegations: 6,
 * });
 * const report = await (await runtime.start(research, 'State of solid-state batteries')).result();
 * ```
 */
export function supervisor<OUTPUT = string>(
  options: SupervisorOptions<OUTPUT>,
): Runnable<AgentInput, OUTPUT> {
  assertName('pattern', options?.name);
  checkOptionNames(`supervisor("${options.name}")`, options, supervisorOptionNames);
  const where = `supervisor("${options.name}")`;
  if (options.manager?.kind !== 'agent')
    throw new ConfigError(`${where}: manager must be an agent (it plans, delegates and answers).`);
  if (!Array.isArray(options.workers) || options.workers.length === 0)
    throw new ConfigError(`${where}: workers must be a non-empty array of agents, workflows or patterns.`);
  const maxDelegations = checkCount(where, 'maxDelegations', options.maxDelegations, 10);
  if (
    options.instructions !== undefined &&
    (typeof options.instructions !== 'string' || options.instructions.trim() === '')
  )
    throw new ConfigError(
      `${where}: instructions must be a non-empty string (it is appended to the manager's).`,
    );
  if (options.distribute !== undefined && typeof options.distribute !== 'boolean')
    throw new ConfigError(
      `${where}: distribute must be true or false, got ${JSON.stringify(options.distribute)}.`,
    );
  const distribute = options.distribute === true;
  const workers = options.workers.map((entry, index) => workerTool(where, index, entry, distribute));
  const taken = new Set(options.manager.tools.map((tool) => tool.name));
  for (const [index, worker] of workers.entries()) {
    if (taken.has(worker.tool.name))
      throw new ConfigError(
        `${where}: workers[${index}] would be the tool "${worker.tool.name}", which the manager or another worker already has; give it { run, description, name } with another name.`,
      );
    taken.add(worker.tool.name);
  }
  const manager = withInstructions(options.manager, options.instructions);
  const tools: readonly AnyTool[] = workers.map((worker) => worker.tool);
  const speakers = new Map<AnyTool, string>(workers.map((worker) => [worker.tool, worker.speaker]));
  const extraTools = (current: Agent<unknown>): readonly AnyTool[] =>
    current.name === manager.name ? tools : [];
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    ...(distribute ? { distributedChildren: workers.map((worker) => worker.run) } : {}),
    async execute(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
      announceStart(ctx, 'supervisor', options.name, [
        manager.name,
        ...workers.map((worker) => worker.speaker),
      ]);
      // Counted in the model's order on every execution and replay, so the limit falls on the same call.
      let delegations = 0;
      let refused = 0;
      let result: AgentRunResult<OUTPUT>;
      try {
        result = await runAgent(ctx, manager, input, {
          extraTools,
          beforeToolCall: (_agent, tool, toolInput) => {
            const speaker = speakers.get(tool);
            if (speaker === undefined) return undefined;
            if (delegations >= maxDelegations) {
              refused++;
              if (refused === 1 && ctx.observed)
                ctx.emitEvent({
                  type: 'pattern-decision',
                  scope: ctx.scope,
                  pattern: 'supervisor',
                  name: options.name,
                  decision: 'delegation limit',
                  reasons: [`${maxDelegations} delegations made; refused a call to ${speaker}`],
                });
              return `Delegation refused: the limit of ${maxDelegations} delegations in this run is reached. Do not delegate again; write your final answer from the results you already have.`;
            }
            delegations++;
            announceSpeaker(
              ctx,
              'supervisor',
              options.name,
              delegations,
              speaker,
              preview((toolInput as { input: string }).input),
            );
            return undefined;
          },
        });
      } catch (error) {
        if (!isInterruption(error, ctx)) announceEnd(ctx, 'supervisor', options.name, 'failed');
        throw error;
      }
      announceEnd(
        ctx,
        'supervisor',
        options.name,
        refused > 0 ? 'answered at the delegation limit' : `answered after ${delegations} delegations`,
      );
      return result.output;
    },
  };
}

interface WorkerTool {
  tool: AnyTool;
  run: AnyRunnable;
  /** The worker's name in `speaker-selected` events. */
  speaker: string;
}

function workerTool(
  where: string,
  index: number,
  entry: AnyRunnable | SupervisorWorker,
  distribute: boolean,
): WorkerTool {
  const field = `workers[${index}]`;
  if (typeof (entry as AnyRunnable | undefined)?.execute === 'function') {
    const runnable = checkRunnable(where, field, entry);
    if (runnable.kind !== 'agent')
      throw new ConfigError(
        `${where}: ${field} ("${runnable.name}") is a ${runnable.kind} without a description; pass { run, description } so the manager knows when to use it.`,
      );
    const description = (runnable as Agent<unknown>).description;
    return {
      tool: runnableTool(runnable as Runnable<string, unknown>, { description, distribute }),
      run: runnable,
      speaker: runnable.name,
    };
  }
  const worker = entry as SupervisorWorker | undefined;
  if (typeof worker !== 'object' || worker === null || !('run' in worker))
    throw new ConfigError(`${where}: ${field} is not an agent, workflow, pattern or { run, description }.`);
  const runnable = checkRunnable(where, `${field}.run`, worker.run);
  if (typeof worker.description !== 'string' || worker.description.trim() === '')
    throw new ConfigError(`${where}: ${field}.description is required; the manager chooses workers by it.`);
  try {
    const tool = runnableTool(runnable as Runnable<string, unknown>, {
      description: worker.description,
      distribute,
      ...(worker.name === undefined ? {} : { name: worker.name }),
    });
    return { tool, run: runnable, speaker: worker.name ?? runnable.name };
  } catch (error) {
    throw new ConfigError(`${where}: ${field}: ${(error as Error).message}`, { cause: error });
  }
}

/** The manager with `extra` appended to its instructions (the same agent when there is none). */
function withInstructions<OUTPUT>(manager: Agent<OUTPUT>, extra: string | undefined): Agent<OUTPUT> {
  if (extra === undefined) return manager;
  const base = manager.instructions;
  return {
    ...manager,
    instructions:
      typeof base === 'string' ? `${base}\n\n${extra}` : (context) => `${base(context)}\n\n${extra}`,
  };
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
