/** Builds the pattern of one team definition (the file or a nested team) from its resolved members. */

import type { Agent } from '../agents/agent.js';
import type { AgentInput } from '../agents/messages.js';
import { runAgent } from '../agents/run-agent.js';
import { ConfigError } from '../core/errors.js';
import type { AnyRunnable, Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { type AdaptivePolicy, adaptive } from '../patterns/adaptive.js';
import { concurrent } from '../patterns/concurrent.js';
import { eventDriven } from '../patterns/event-driven.js';
import { evolving, type OutcomeInfo } from '../patterns/evolving.js';
import { groupChat, type SpeakerSelection } from '../patterns/group-chat.js';
import { handoff } from '../patterns/handoff.js';
import { loop } from '../patterns/loop.js';
import { magentic } from '../patterns/magentic.js';
import { makerChecker } from '../patterns/maker-checker.js';
import { sequential } from '../patterns/sequential.js';
import { textOf } from '../patterns/shared.js';
import { supervisor } from '../patterns/supervisor.js';
import type { Store } from '../stores/store.js';
import { asAgentInput, compact, condition, milliseconds } from './build-parts.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import { isModelString } from './team-names.js';

/** What building a pattern needs: the file, member lookup and model/module resolution. */
export interface PatternContext {
  file: TeamFile;
  /** An agent by name (checked to exist). */
  agent: (name: string) => Agent<unknown>;
  /** An agent, nested team or human by name, built on first use. */
  member: (name: string) => AnyRunnable;
  /** What a member does, for supervisors' tool descriptions. */
  describe: (name: string) => string;
  /** The model for a "provider:model" written in the file (the offline or forced model when one applies). */
  inlineModel: (spec: string) => ModelSpec;
  /** The value of a "./file.ts#export" reference (loaded before the build). */
  moduleExport: (reference: string) => unknown;
  /** The store evolving teams keep their outcomes in. */
  store: Store | undefined;
}

/**
 * The runnable of one team. `nested` teams have no default entry and route a handoff along
 * the entry agent's handoffs; the top level defaults to the first agent and hands off to all.
 */
export function buildPattern(
  definition: TeamDefinition,
  version: string,
  nested: boolean,
  context: PatternContext,
): Runnable<AgentInput, unknown> {
  const { name } = definition;
  const { agent, member, file } = context;
  const members = (names: readonly string[] | undefined): AnyRunnable[] => (names ?? []).map(member);
  const entryName = definition.entry ?? (file.agents[0] as TeamFile['agents'][number]).name;
  const agentOrModel = (value: string): Agent<unknown> | ModelSpec =>
    isModelString(value) ? context.inlineModel(value) : agent(value);
  const built = (runnable: unknown) => runnable as Runnable<AgentInput, unknown>;

  switch (definition.pattern) {
    case 'agent': {
      const entry = agent(entryName);
      return {
        kind: 'pattern',
        name,
        version,
        async execute(ctx, input) {
          return (await runAgent(ctx, entry, input)).output;
        },
      };
    }
    case 'handoff': {
      const entry = agent(entryName);
      const specialists = nested
        ? reachable(file, entryName).filter((other) => other !== definition.fallback)
        : file.agents
            .map((other) => other.name)
            .filter((other) => other !== entryName && other !== definition.fallback);
      return handoff({
        name,
        version,
        entry,
        agents: specialists.map(agent),
        ...compact({
          allowReturn: definition.allowReturn,
          maxHandoffs: definition.maxHandoffs,
          loopCycles: definition.loopCycles,
          loopResponse: definition.loopResponse,
          fallback: definition.fallback === undefined ? undefined : agent(definition.fallback),
        }),
      });
    }
    case 'sequential':
      return sequential<AgentInput, unknown>({
        name,
        version,
        stages: (definition.stages ?? []).map((stage) => ({ run: member(stage), input: asAgentInput })),
      });
    case 'concurrent': {
      const aggregate = definition.aggregate;
      return built(
        concurrent<AgentInput, unknown, unknown>({
          name,
          version,
          units: members(definition.units),
          aggregate:
            aggregate === undefined || aggregate === 'collect'
              ? 'collect'
              : aggregate === 'vote'
                ? 'vote'
                : typeof aggregate === 'object'
                  ? { weighted: aggregate.weighted }
                  : (member(aggregate) as Runnable<string, unknown>),
          ...compact({
            require: definition.require,
            consistencyMeasure: definition.consistencyMeasure,
            minConsistency: definition.minConsistency,
            onLowConsistency:
              definition.onLowConsistency === undefined
                ? undefined
                : (member(definition.onLowConsistency) as Runnable<string, unknown>),
          }),
        }),
      );
    }
    case 'supervisor':
      return built(
        supervisor({
          name,
          version,
          manager: agent(definition.manager as string),
          workers: (definition.workers ?? []).map((worker) => {
            const runnable = member(worker);
            return runnable.kind === 'agent'
              ? runnable
              : { run: runnable, description: context.describe(worker) };
          }),
          ...compact({ maxDelegations: definition.maxDelegations }),
        }),
      );
    case 'groupChat':
      return built(
        groupChat({
          name,
          version,
          members: members(definition.members),
          ...compact({
            select: selection(definition.select, agentOrModel),
            terminate: definition.terminate === undefined ? undefined : condition(definition.terminate),
            maxRounds: definition.maxRounds,
            task: definition.task,
            loopDetection:
              definition.loopDetection === undefined || definition.loopDetection === false
                ? undefined
                : definition.loopDetection === true
                  ? {}
                  : compact(definition.loopDetection),
          }),
        }),
      );
    case 'makerChecker':
      return built(
        makerChecker({
          name,
          version,
          maker: member(definition.maker as string),
          checker: member(definition.checker as string),
          criteria: definition.criteria as string | string[],
          ...compact({ maxRounds: definition.maxRounds }),
        }),
      );
    case 'loop':
      return built(
        loop({
          name,
          version,
          generator: member(definition.generator as string),
          evaluator: member(definition.evaluator as string),
          threshold: definition.threshold as number,
          ...compact({ maxIterations: definition.maxIterations }),
        }),
      );
    case 'magentic': {
      const review = definition.reviewPlan;
      return built(
        magentic({
          name,
          version,
          manager: agentOrModel(definition.manager as string),
          members: members(definition.members),
          ...compact({
            maxRounds: definition.maxRounds,
            maxStalls: definition.maxStalls,
            maxResets: definition.maxResets,
            maxParseRetries: definition.maxParseRetries,
            reviewPlan:
              review === undefined
                ? undefined
                : review === true
                  ? {}
                  : compact({
                      timeoutMs: review.timeout === undefined ? undefined : milliseconds(review.timeout),
                      maxRevisions: review.maxRevisions,
                    }),
          }),
        }),
      );
    }
    case 'eventDriven':
      return built(
        eventDriven({
          name,
          version,
          subscribers: (definition.subscribers ?? []).map((subscriber) => ({
            member: member(subscriber.member),
            topics: subscriber.topics,
            ...compact({ publishes: subscriber.publishes }),
          })),
          ...compact({ start: definition.start, until: definition.until, maxEvents: definition.maxEvents }),
        }),
      );
    case 'adaptive':
      return built(
        adaptive({
          name,
          version,
          planner: agentOrModel(definition.planner as string),
          agents: (definition.pool ?? []).map(agent),
          ...compact({
            policy:
              definition.policy === undefined
                ? undefined
                : (context.moduleExport(definition.policy) as AdaptivePolicy),
            override: definition.override,
            manager: definition.manager === undefined ? undefined : agent(definition.manager),
            maxPlanAttempts: definition.maxPlanAttempts,
            maxTasks: definition.maxTasks,
          }),
        }),
      );
    case 'evolving': {
      if (context.store === undefined)
        throw new ConfigError(
          'pattern evolving keeps the outcomes it learns from in a store: pass the runtime’s store, loadTeamFile(path, { store }).',
        );
      return built(
        evolving({
          name,
          version,
          candidates: members(definition.candidates),
          store: context.store,
          score: scoreOf(definition.score ?? 'success', context.moduleExport),
          ...compact({
            costPenalty: definition.costPenalty,
            exploration: definition.exploration,
            minTrials: definition.minTrials,
            exclude: definition.exclude,
            failureScore: definition.failureScore,
            taskType:
              definition.taskType === undefined
                ? undefined
                : (context.moduleExport(definition.taskType) as (input: unknown) => string),
          }),
        }),
      );
    }
  }
}

/** The score function of an evolving team: success, { contains }, or a module export. */
function scoreOf(
  score: NonNullable<TeamDefinition['score']>,
  moduleExport: (reference: string) => unknown,
): (output: unknown, info: OutcomeInfo) => number | Promise<number> {
  if (score === 'success') return () => 1;
  if (typeof score === 'object') return (output) => (textOf(output).includes(score.contains) ? 1 : 0);
  return moduleExport(score) as (output: unknown, info: OutcomeInfo) => number | Promise<number>;
}

/** The agents a nested handoff team can reach from its entry agent through declared handoffs. */
function reachable(file: TeamFile, entry: string): string[] {
  const byName = new Map(file.agents.map((agent) => [agent.name, agent]));
  const found = new Set<string>();
  const queue = [entry];
  // The queue only grows; `next` walks it (shift() would copy it on every step).
  for (let next = 0; next < queue.length; next++) {
    const definition = byName.get(queue[next] as string);
    for (const handoff of definition?.handoffs ?? []) {
      const target = typeof handoff === 'string' ? handoff : handoff.agent;
      if (target === entry || found.has(target)) continue;
      found.add(target);
      queue.push(target);
    }
  }
  return [...found];
}

function selection(
  select: TeamDefinition['select'],
  agentOrModel: (value: string) => Agent<unknown> | ModelSpec,
): SpeakerSelection | undefined {
  if (select === undefined || select === 'round-robin') return select;
  const candidates = select.candidates;
  return {
    selector: agentOrModel(select.selector),
    ...compact({
      allowRepeat: select.allowRepeat,
      candidates: candidates === undefined ? undefined : () => candidates,
      fallback: select.fallback,
    }),
  };
}
