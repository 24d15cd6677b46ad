/** What a team-file pattern module holds: its fields, the checks a schema cannot do, and its build into a pattern call. */

import type { z } from 'zod';
import type { Agent } from '../../agents/agent.js';
import type { AgentInput } from '../../context/messages.js';
import type { AnyRunnable, Runnable } from '../../core/runnable.js';
import type { Store } from '../../core/store.js';
import type { ModelSpec } from '../../models/resolve-model.js';
import type { TeamFileProblem } from '../team-file-error.js';
import type { MemberKind } from '../team-words.js';
import type { DataPath, ProblemMessage, YamlSource } from '../yaml-source.js';

/** A team (the file or a nested team) as a pattern module sees it: its name and its own fields, validated. */
export type PatternDefinition<FIELDS extends z.ZodRawShape> = z.output<z.ZodObject<FIELDS>> & {
  readonly name: string;
  readonly pattern: string;
};

/** What patterns read of the file's agents: their names and handoffs. */
export interface PatternAgent {
  readonly name: string;
  readonly handoffs?: readonly (string | { readonly agent: string })[] | undefined;
}

/** A name a field refers to, at a path relative to the team. */
export interface FieldReference {
  path: DataPath;
  name: string;
}

/** What a module's checks get: the team, where it is, name lookups and places to report problems. */
export interface PatternCheck<FIELDS extends z.ZodRawShape> {
  readonly team: PatternDefinition<FIELDS>;
  /** True for an entry of `teams:`, false for the file's top level. */
  readonly nested: boolean;
  /** The file's agents, in file order. */
  readonly agents: readonly PatternAgent[];
  readonly source: YamlSource;
  /** The path of a field of this team in the file. */
  at(...path: DataPath): DataPath;
  /** Reports a problem at a value of this team (a path relative to the team). */
  problem(path: DataPath, message: ProblemMessage): void;
  /** Reports a problem at a key of a mapping of this team (a path relative to the team). */
  keyProblem(path: DataPath, key: string, message: ProblemMessage): void;
  /** Reports problems found by a helper (absolute paths). */
  report(problems: readonly TeamFileProblem[]): void;
  /** Checks that `name` at `path` (relative) is defined and of an allowed kind; `extras` are keywords the field also takes. */
  reference(
    path: DataPath,
    name: string,
    allowed: readonly MemberKind[],
    label: string,
    extras?: readonly string[],
  ): void;
  /** Checks a list of member names under `key`: each defined, of an allowed kind (default any), listed once. */
  references(key: string, names: readonly string[] | undefined, allowed?: readonly MemberKind[]): void;
  /** What `name` stands for, or undefined when the file does not define it. */
  kindOf(name: string): MemberKind | undefined;
}

/** What a module's build gets: the team, member lookup and model/module resolution. */
export interface PatternBuild<FIELDS extends z.ZodRawShape> {
  readonly definition: PatternDefinition<FIELDS>;
  readonly version: string;
  /** Nested teams have no default entry and route a handoff along the entry agent's handoffs. */
  readonly nested: boolean;
  /** The file's agents, in file order. */
  readonly agents: readonly PatternAgent[];
  /** An agent by name (checked to exist). */
  agent(name: string): Agent<unknown>;
  /** An agent, nested team or human by name, built on first use. */
  member(name: string): AnyRunnable;
  /** The members of a list field (none when it is not set). */
  members(names: readonly string[] | undefined): AnyRunnable[];
  /** An agent, or the model of a "provider:model" written in the file. */
  agentOrModel(value: string): Agent<unknown> | ModelSpec;
  /** What a member does, for supervisors' tool descriptions. */
  describe(name: string): string;
  /** The value of a "./file.ts#export" reference (loaded before the build). */
  moduleExport(reference: string): unknown;
  /** The store evolving teams keep their outcomes in. */
  readonly store: Store | undefined;
}

/**
 * One pattern of team files. Its `fields` join the file schema (a field several patterns use
 * comes from shared-fields.ts); a field set on a team of another pattern is an error. Methods
 * (not function properties) so the registry can hold modules with different fields.
 */
export interface PatternModule<KIND extends string, FIELDS extends z.ZodRawShape> {
  readonly kind: KIND;
  /** The zod schemas of the pattern's fields, in the order the JSON Schema lists them. */
  readonly fields: FIELDS;
  /** Fields the pattern cannot do without, in the order they are reported, with what each holds. */
  readonly required?: { readonly [KEY in keyof FIELDS]?: string };
  /** More required fields when the team is nested (no default from the file). */
  readonly requiredWhenNested?: { readonly [KEY in keyof FIELDS]?: string };
  /** Checks a schema-valid team of this pattern: references, names that must differ, positions. */
  check?(context: PatternCheck<FIELDS>): void;
  /** The pattern call for a checked team. */
  build(context: PatternBuild<FIELDS>): Runnable<AgentInput, unknown>;
  /** Names the fields refer to as members, for the cycle check (run on every team, whatever its pattern). */
  memberReferences?(definition: PatternDefinition<FIELDS>): FieldReference[];
  /** "provider:model" strings written in fields of a team of this pattern (they need keys like agents' models). */
  inlineModels?(definition: PatternDefinition<FIELDS>): { path: DataPath; model: string }[];
  /** Names of the agents the pattern makes itself, which an offline script may give turns to. */
  internalAgents?(definition: PatternDefinition<FIELDS>): string[];
  /** "./file.ts#export" references in fields of a team of this pattern. */
  moduleReferences?(definition: PatternDefinition<FIELDS>): { path: DataPath; reference: string }[];
}

/** Any pattern module (the registry's view). */
export type AnyPatternModule = PatternModule<string, z.ZodRawShape>;

/**
 * A pattern module, with its kind and fields inferred.
 *
 * @example
 * ```ts
 * export const sequentialPattern = definePattern({ kind: 'sequential', fields: { stages }, build: ... });
 * ```
 */
export function definePattern<const KIND extends string, const FIELDS extends z.ZodRawShape>(
  module: PatternModule<KIND, FIELDS>,
): PatternModule<KIND, FIELDS> {
  return module;
}

/** A pattern's runnable as the team builder returns it (the patterns' own input and output types vary). */
export function asTeamRunnable(runnable: unknown): Runnable<AgentInput, unknown> {
  return runnable as Runnable<AgentInput, unknown>;
}

/** The names of a list field as references, `[key, index]` each. */
export function listReferences(key: string, names: readonly string[] | undefined): FieldReference[] {
  return (names ?? []).map((name, index) => ({ path: [key, index], name }));
}
