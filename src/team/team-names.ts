/** The names a team file defines (agents, nested teams, humans) and located checks of references to them. */

import { didYouMean } from '../core/suggest.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import { type MemberKind, nameList, nounList } from './team-words.js';
import type { DataPath, YamlSource } from './yaml-source.js';

const plural: Record<MemberKind, string> = { agent: 'agents', team: 'teams', human: 'humans' };

/** A definition with patterns fields: the file itself (path `[]`) or a nested team (`['teams', i]`). */
export interface LocatedDefinition {
  definition: TeamDefinition;
  path: DataPath;
  nested: boolean;
}

/**
 * The file's top level and its nested teams, in file order.
 *
 * @example
 * ```ts
 * for (const { definition, path } of definitionsOf(team)) console.log(definition.name, path);
 * ```
 */
export function definitionsOf(team: TeamFile): LocatedDefinition[] {
  return [
    { definition: team, path: [], nested: false },
    ...(team.teams ?? []).map((definition, index) => ({
      definition,
      path: ['teams', index] as DataPath,
      nested: true,
    })),
  ];
}

/** The names of a file and what each stands for; checks references and collects problems. */
export class TeamNames {
  readonly problems: TeamFileProblem[] = [];
  readonly #kinds = new Map<string, MemberKind>();
  readonly #names: Record<MemberKind, string[]> = { agent: [], team: [], human: [] };
  readonly #source: YamlSource;

  constructor(source: YamlSource, team: TeamFile) {
    this.#source = source;
    const first = new Map<string, string>();
    const add = (kind: MemberKind, index: number, name: string): void => {
      const where = `${plural[kind]}[${index}]`;
      const earlier = first.get(name);
      if (earlier === undefined) {
        first.set(name, where);
        this.#kinds.set(name, kind);
        this.#names[kind].push(name);
        return;
      }
      const sameKind = earlier.startsWith(plural[kind]);
      this.problems.push(
        source.problem(
          [plural[kind], index, 'name'],
          sameKind && kind === 'agent'
            ? `duplicate agent name "${name}" (${earlier} has it too); agent names must be unique.`
            : `duplicate name "${name}" (${earlier} has it too); names must be unique across agents, teams and humans.`,
        ),
      );
    };
    for (const [index, agent] of team.agents.entries()) add('agent', index, agent.name);
    for (const [index, nested] of (team.teams ?? []).entries()) add('team', index, nested.name);
    for (const [index, person] of (team.humans ?? []).entries()) add('human', index, person.name);
  }

  /** What `name` stands for, or undefined when the file does not define it. */
  kindOf(name: string): MemberKind | undefined {
    return this.#kinds.get(name);
  }

  /** The names of one kind, in file order. */
  names(kind: MemberKind): readonly string[] {
    return this.#names[kind];
  }

  /**
   * Checks that `name` (found at `path`) is defined and of an allowed kind; `extras` are
   * keywords the field also accepts (such as `collect`). Returns the kind when it is fine.
   */
  reference(
    path: DataPath,
    name: string,
    allowed: readonly MemberKind[],
    field: string,
    extras: readonly string[] = [],
  ): MemberKind | undefined {
    if (extras.includes(name)) return undefined;
    const kind = this.#kinds.get(name);
    if (kind !== undefined && allowed.includes(kind)) return kind;
    if (kind !== undefined) {
      this.problems.push(
        this.#source.problem(
          path,
          `"${name}" is ${kind === 'agent' ? 'an' : 'a'} ${kind}, but ${field} must be ${nounList(allowed, 'a')}.`,
        ),
      );
      return undefined;
    }
    // Written when read: it lists and searches every name, which a file with many problems must not pay for each.
    this.problems.push(this.#source.problem(path, () => this.#unknownMessage(name, allowed, extras)));
    return undefined;
  }

  #unknownMessage(name: string, allowed: readonly MemberKind[], extras: readonly string[]): string {
    const present = allowed.filter((candidate) => this.#names[candidate].length > 0);
    const candidates = [...allowed.flatMap((candidate) => this.#names[candidate]), ...extras];
    const known =
      present.length <= 1
        ? `known: ${nameList([...(present[0] === undefined ? [] : this.#names[present[0]]), ...extras]) || 'none'}`
        : [
            ...present.map((candidate) => `${plural[candidate]}: ${nameList(this.#names[candidate])}`),
            ...(extras.length === 0 ? [] : [`or: ${extras.join(', ')}`]),
          ].join('; ');
    return `unknown ${nounList(present.length === 0 ? allowed.slice(0, 1) : present)} "${name}" (${known}).${didYouMean(name, candidates)}`;
  }
}
