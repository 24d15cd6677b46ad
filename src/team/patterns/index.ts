/** The registry of team-file patterns: each pattern's module, in the order the schema and messages list them. */

import type { z } from 'zod';
import { adaptivePattern } from './adaptive.js';
import { agentPattern } from './agent.js';
import { concurrentPattern } from './concurrent.js';
import { eventDrivenPattern } from './event-driven.js';
import { evolvingPattern } from './evolving.js';
import { groupChatPattern } from './group-chat.js';
import { handoffPattern } from './handoff.js';
import { loopPattern } from './loop.js';
import { magenticPattern } from './magentic.js';
import { makerCheckerPattern } from './maker-checker.js';
import type { AnyPatternModule } from './pattern-module.js';
import { sequentialPattern } from './sequential.js';
import { supervisorPattern } from './supervisor.js';

/** Every pattern module; a new pattern is one module and one line here. */
const patternModules = [
  agentPattern,
  handoffPattern,
  sequentialPattern,
  concurrentPattern,
  supervisorPattern,
  groupChatPattern,
  makerCheckerPattern,
  loopPattern,
  magenticPattern,
  eventDrivenPattern,
  adaptivePattern,
  evolvingPattern,
] as const;

type PatternModules = typeof patternModules;

/** The kinds of a tuple of modules, as a tuple. */
type KindsOf<MODULES extends readonly AnyPatternModule[]> = {
  readonly [INDEX in keyof MODULES]: MODULES[INDEX] extends { kind: infer KIND } ? KIND : never;
};

/**
 * The orchestration patterns a team file can use.
 *
 * @example
 * ```ts
 * teamPatterns.includes('groupChat'); // true
 * ```
 */
export const teamPatterns = patternModules.map((module) => module.kind) as unknown as KindsOf<PatternModules>;

/**
 * One of {@link teamPatterns}.
 *
 * @example
 * ```ts
 * const pattern: TeamPattern = 'sequential';
 * ```
 */
export type TeamPattern = (typeof teamPatterns)[number];

/** The module of each pattern, by kind. */
export const patternRegistry: Readonly<Record<TeamPattern, AnyPatternModule>> = Object.fromEntries(
  patternModules.map((module) => [module.kind, module as AnyPatternModule]),
) as Record<TeamPattern, AnyPatternModule>;

/** Which pattern fields each pattern uses (the others are an error, so a mistake never goes unnoticed). */
export const patternFields: Readonly<Record<TeamPattern, readonly string[]>> = Object.fromEntries(
  patternModules.map((module) => [module.kind, Object.keys(module.fields)]),
) as unknown as Record<TeamPattern, readonly string[]>;

type Intersection<UNION> = (UNION extends unknown ? (value: UNION) => void : never) extends (
  value: infer BOTH,
) => void
  ? BOTH
  : never;

/** The fields of every pattern, in one shape: a field two patterns use is the same schema in both. */
export type PatternFieldsShape = Intersection<PatternModules[number]['fields']>;

/** Every field a pattern can set (top level of the file, or a nested team), in registry order. */
export const patternFieldsShape = mergePatternFields(patternModules) as PatternFieldsShape;

/**
 * The fields of `modules` in one shape, in module order; refuses a field two modules declare
 * with different schemas (a shared field is one schema, from shared-fields.ts).
 */
export function mergePatternFields(modules: readonly AnyPatternModule[]): z.ZodRawShape {
  const shape: Record<string, z.core.$ZodType> = {};
  for (const module of modules) {
    for (const [key, schema] of Object.entries(module.fields)) {
      const earlier = shape[key];
      if (earlier !== undefined && earlier !== schema)
        throw new Error(
          `pattern ${module.kind} declares its own field "${key}", which another pattern declares too; a shared field lives in team/patterns/shared-fields.ts.`,
        );
      shape[key] = schema;
    }
  }
  return shape;
}
