/** Builds the pattern of one team definition (the file or a nested team) from its resolved members, through its pattern module. */

import type { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import type { AgentInput } from '../context/messages.js';
import type { AnyRunnable, Runnable } from '../core/runnable.js';
import type { Store } from '../core/store.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { patternRegistry } from './patterns/index.js';
import type { PatternBuild } from './patterns/pattern-module.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import { isModelString } from './team-words.js';

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
  const { agent, member } = context;
  const build: PatternBuild<z.ZodRawShape> = {
    definition,
    version,
    nested,
    agents: context.file.agents,
    agent,
    member,
    members: (names) => (names ?? []).map(member),
    agentOrModel: (value) => (isModelString(value) ? context.inlineModel(value) : agent(value)),
    describe: context.describe,
    moduleExport: context.moduleExport,
    store: context.store,
  };
  return patternRegistry[definition.pattern].build(build);
}
