/** sequential(): a pipeline of agents, workflows or patterns; each stage gets the previous output (or a mapping of it). */

import { BatonError, ConfigError, errorMessage } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import { isBudgetStop } from '../governance/budget.js';
import { announceEnd, announceStart } from './shared.js';

/** A stage: a runnable, or a runnable with a function that builds its input. */
export type Stage =
  | AnyRunnable
  | {
      run: AnyRunnable;
      /** Builds the stage's input from the previous output, the pipeline input and all outputs so far. Must be pure. */
      input: (previous: unknown, pipeline: { input: unknown; outputs: readonly unknown[] }) => unknown;
    };

/** Options of `sequential()`. */
export interface SequentialOptions {
  name: string;
  version?: string;
  stages: readonly Stage[];
}

const sequentialOptionNames = optionNames<SequentialOptions>(
  { name: true, version: true, stages: true },
  { steps: 'stages', agents: 'stages' },
);

/**
 * A pipeline. A failing stage stops it with an error naming the stage.
 *
 * @example
 * ```ts
 * const contract = sequential({ name: 'contract', stages: [drafter, { run: reviewer, input: (draft) => `Review:\n${draft}` }] });
 * await runtime.start(contract, 'NDA between Acme and Beta');
 * ```
 */
export function sequential<INPUT = unknown, OUTPUT = unknown>(
  options: SequentialOptions,
): Runnable<INPUT, OUTPUT> {
  assertName('pattern', options?.name);
  checkOptionNames(`sequential("${options.name}")`, options, sequentialOptionNames);
  if (!Array.isArray(options.stages) || options.stages.length === 0) {
    throw new ConfigError(`sequential("${options.name}"): stages must be a non-empty array.`);
  }
  const stages = options.stages.map((stage, index) => {
    const runnable = 'run' in stage && typeof stage.run === 'object' ? stage.run : (stage as AnyRunnable);
    if (typeof runnable?.execute !== 'function')
      throw new ConfigError(
        `sequential("${options.name}"): stages[${index}] is not an agent, workflow or pattern.`,
      );
    return {
      runnable: runnable as Runnable<unknown, unknown>,
      input: 'input' in stage ? stage.input : undefined,
    };
  });
  const memberNames = stages.map((stage) => stage.runnable.name);
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: INPUT): Promise<OUTPUT> {
      announceStart(ctx, 'sequential', options.name, memberNames);
      let value: unknown = input;
      const outputs: unknown[] = [];
      for (const [index, stage] of stages.entries()) {
        try {
          value = await ctx.run(
            stage.runnable,
            stage.input === undefined ? value : stage.input(value, { input, outputs }),
          );
        } catch (error) {
          // A budget stop ends the run as budget-exceeded with its partial result, not as a failed stage.
          if (isInterruption(error, ctx) || isBudgetStop(error)) throw error;
          const message = errorMessage(error);
          throw new BatonError(
            `sequential("${options.name}") stopped at stage ${index + 1} "${stage.runnable.name}": ${message}`,
            {
              code: 'STAGE_FAILED',
              fault: BatonError.isInstance(error) ? error.fault : 'system',
              runId: ctx.runId,
              cause: error,
            },
          );
        }
        outputs.push(value);
      }
      announceEnd(ctx, 'sequential', options.name, 'completed');
      return value as OUTPUT;
    },
  };
}
