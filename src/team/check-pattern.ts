/** Checks the pattern part of one team (the file or a nested team): fields, required fields and member references. */

import { checkTerminate } from './check-terminate.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import {
  andList,
  isModelString,
  type LocatedDefinition,
  type MemberKind,
  nameList,
  type TeamNames,
} from './team-names.js';
import { patternFields, requiredPatternFields, teamPatterns } from './team-pattern-schema.js';
import type { DataPath, YamlSource } from './yaml-source.js';

const anyMember: readonly MemberKind[] = ['agent', 'team', 'human'];
const agentOnly: readonly MemberKind[] = ['agent'];

/** What each required field holds, for "pattern X needs Y: ..." messages. */
const requiredHints: Record<string, string> = {
  stages: 'a list of agent names in order.',
  units: 'a list of agent names to run at once.',
  manager: 'the agent that delegates to the workers and writes the answer.',
  workers: 'a list of agents, teams or humans to delegate to.',
  members: 'a list of the agents, teams and humans that take part.',
  maker: 'the agent, team or human that produces the work.',
  checker: 'the agent, team or human that judges it.',
  criteria: 'what the checker judges against (a string or a list).',
  generator: 'the agent, team or human that produces the output.',
  evaluator: 'the agent, team or human that scores it (JSON { score, feedback }).',
  threshold: 'the score from 0 to 1 at which to stop.',
  subscribers: 'a list of { member, topics, publishes }.',
  planner: 'the agent (or "provider:model") that splits the task into a task graph.',
  pool: 'a list of the agents that do the tasks.',
  candidates: 'a list of the teams (or agents) to choose between.',
  entry: 'the agent that receives the input.',
};

const topicPattern = /^[A-Za-z0-9][\w.:/-]{0,99}$/;

/** Problems with the pattern fields of one team. References are checked through `names`. */
export function checkPattern(
  source: YamlSource,
  file: TeamFile,
  located: LocatedDefinition,
  names: TeamNames,
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const { definition: team, path: prefix, nested } = located;
  const at = (...path: DataPath): DataPath => [...prefix, ...path];
  const ref = (
    path: DataPath,
    name: string,
    allowed: readonly MemberKind[],
    label: string,
    extras?: string[],
  ) => names.reference(at(...path), name, allowed, label, extras);
  const refList = (key: string, list: readonly string[] | undefined, allowed = anyMember): void => {
    const seen = new Set<string>();
    for (const [index, name] of (list ?? []).entries()) {
      if (seen.has(name))
        problems.push(
          source.problem(at(key, index), `"${name}" is listed twice in ${key}; list each member once.`),
        );
      seen.add(name);
      ref([key, index], name, allowed, key);
    }
  };

  const used = new Set(patternFields[team.pattern]);
  for (const pattern of teamPatterns) {
    for (const key of patternFields[pattern]) {
      if (used.has(key) || team[key as keyof TeamDefinition] === undefined) continue;
      const users = teamPatterns.filter((candidate) => patternFields[candidate].includes(key));
      problems.push(
        source.keyProblem(
          prefix,
          key,
          `"${key}" is used by pattern ${andList(users)}, but this team uses pattern ${team.pattern}; remove it or change the pattern.`,
        ),
      );
      used.add(key);
    }
  }
  const required = [
    ...(requiredPatternFields[team.pattern] ?? []),
    ...(nested && (team.pattern === 'agent' || team.pattern === 'handoff') ? ['entry'] : []),
  ];
  for (const key of required) {
    if (team[key as keyof TeamDefinition] !== undefined) continue;
    problems.push(
      source.keyProblem(
        prefix,
        'pattern',
        `pattern ${team.pattern} needs ${key}: ${requiredHints[key] ?? 'see docs/team-files.md.'}`,
      ),
    );
  }

  if (team.entry !== undefined) ref(['entry'], team.entry, agentOnly, 'entry');
  switch (team.pattern) {
    case 'handoff': {
      if (team.fallback !== undefined) {
        ref(['fallback'], team.fallback, agentOnly, 'fallback');
        if (team.fallback === (team.entry ?? file.agents[0]?.name))
          problems.push(
            source.problem(at('fallback'), 'the fallback must be another agent than the entry agent.'),
          );
      }
      if (!nested) {
        const others = file.agents.filter(
          (agent) => agent.name !== (team.entry ?? file.agents[0]?.name) && agent.name !== team.fallback,
        );
        if (others.length === 0)
          problems.push(
            source.problem(
              ['agents'],
              'pattern handoff needs at least two agents: the entry agent and someone to hand off to (or use pattern: agent).',
            ),
          );
      } else if (team.entry !== undefined && names.kindOf(team.entry) === 'agent') {
        const entry = file.agents.find((agent) => agent.name === team.entry);
        if ((entry?.handoffs ?? []).length === 0)
          problems.push(
            source.problem(
              at('entry'),
              `a nested handoff team routes along its entry agent's handoffs, and "${team.entry}" has none; add handoffs: to agent "${team.entry}".`,
            ),
          );
      }
      break;
    }
    case 'sequential':
      refList('stages', team.stages);
      break;
    case 'concurrent': {
      refList('units', team.units);
      const units = team.units ?? [];
      const aggregate = team.aggregate;
      if (typeof aggregate === 'string')
        ref(['aggregate'], aggregate, anyMember, 'aggregate', ['collect', 'vote']);
      else if (aggregate !== undefined) {
        const unitNames = new Set(units);
        for (const unit of Object.keys(aggregate.weighted)) {
          if (unitNames.has(unit)) continue;
          problems.push(
            source.keyProblem(
              at('aggregate', 'weighted'),
              unit,
              () => `"${unit}" is not a unit of this team (units: ${nameList(units)}); weights name units.`,
            ),
          );
        }
      }
      if (typeof team.require === 'number' && units.length > 0 && team.require > units.length)
        problems.push(
          source.problem(
            at('require'),
            `require is ${team.require} but there are only ${units.length} units; use 1 to ${units.length}.`,
          ),
        );
      if (team.onLowConsistency !== undefined) {
        ref(['onLowConsistency'], team.onLowConsistency, anyMember, 'onLowConsistency');
        if (team.minConsistency === undefined)
          problems.push(
            source.keyProblem(
              prefix,
              'onLowConsistency',
              'onLowConsistency needs minConsistency: the consistency (0 to 1) below which it answers.',
            ),
          );
      }
      break;
    }
    case 'supervisor':
      if (team.manager !== undefined) {
        if (isModelString(team.manager))
          problems.push(
            source.problem(
              at('manager'),
              'a supervisor’s manager must be an agent of this file (a "provider:model" manager works for magentic only).',
            ),
          );
        else ref(['manager'], team.manager, agentOnly, 'manager');
      }
      refList('workers', team.workers);
      if (team.manager !== undefined && team.workers?.includes(team.manager))
        problems.push(
          source.problem(
            at('workers', team.workers.indexOf(team.manager)),
            `"${team.manager}" is the manager; it cannot be one of its own workers.`,
          ),
        );
      break;
    case 'groupChat': {
      refList('members', team.members);
      const members = new Set(team.members);
      if (members.size === 1)
        problems.push(source.problem(at('members'), 'a group chat needs at least two members.'));
      const select = team.select;
      if (typeof select === 'object') {
        if (!isModelString(select.selector))
          ref(['select', 'selector'], select.selector, agentOnly, 'select.selector');
        for (const [index, name] of (select.candidates ?? []).entries())
          memberOf(at('select', 'candidates', index), name, members, 'a candidate');
        if (select.fallback !== undefined && select.fallback !== 'round-robin')
          memberOf(at('select', 'fallback'), select.fallback, members, 'the fallback speaker', [
            'round-robin',
          ]);
      }
      if (team.terminate !== undefined)
        problems.push(...checkTerminate(source, at('terminate'), team.terminate, members));
      break;
    }
    case 'makerChecker':
      if (team.maker !== undefined) ref(['maker'], team.maker, anyMember, 'maker');
      if (team.checker !== undefined) ref(['checker'], team.checker, anyMember, 'checker');
      if (team.maker !== undefined && team.maker === team.checker)
        problems.push(source.problem(at('checker'), 'the checker must be another member than the maker.'));
      break;
    case 'loop':
      if (team.generator !== undefined) ref(['generator'], team.generator, anyMember, 'generator');
      if (team.evaluator !== undefined) ref(['evaluator'], team.evaluator, anyMember, 'evaluator');
      if (team.generator !== undefined && team.generator === team.evaluator)
        problems.push(
          source.problem(at('evaluator'), 'the evaluator must be another member than the generator.'),
        );
      break;
    case 'magentic':
      if (team.manager !== undefined && !isModelString(team.manager))
        ref(['manager'], team.manager, agentOnly, 'manager');
      refList('members', team.members);
      break;
    case 'eventDriven': {
      const seen = new Set<string>();
      for (const [index, subscriber] of (team.subscribers ?? []).entries()) {
        ref(['subscribers', index, 'member'], subscriber.member, anyMember, 'a subscriber’s member');
        if (seen.has(subscriber.member))
          problems.push(
            source.problem(
              at('subscribers', index, 'member'),
              `"${subscriber.member}" subscribes twice; list all its topics in one subscriber.`,
            ),
          );
        seen.add(subscriber.member);
        for (const [position, topic] of subscriber.topics.entries())
          topicName(['subscribers', index, 'topics', position], topic);
        if (subscriber.publishes !== undefined)
          topicName(['subscribers', index, 'publishes'], subscriber.publishes);
      }
      if (team.start !== undefined) topicName(['start'], team.start);
      if (team.until !== undefined) topicName(['until'], team.until);
      const start = team.start ?? 'input';
      if (team.until !== undefined && team.until === start)
        problems.push(
          source.problem(
            at('until'),
            `until is the start topic "${start}"; the run would end on its own input.`,
          ),
        );
      const subscribers = team.subscribers ?? [];
      if (subscribers.length > 0 && !subscribers.some((subscriber) => subscriber.topics.includes(start)))
        problems.push(
          source.keyProblem(
            prefix,
            team.start === undefined ? 'subscribers' : 'start',
            `no subscriber listens to the start topic "${start}", so the input would reach nobody; add it to a subscriber's topics${team.start === undefined ? ' or set start:' : ''}.`,
          ),
        );
      break;
    }
    case 'adaptive':
      if (team.planner !== undefined && !isModelString(team.planner))
        ref(['planner'], team.planner, agentOnly, 'planner');
      refList('pool', team.pool, agentOnly);
      if (team.manager !== undefined) {
        if (isModelString(team.manager))
          problems.push(
            source.problem(at('manager'), 'an adaptive team’s manager must be an agent of this file.'),
          );
        else ref(['manager'], team.manager, agentOnly, 'manager');
      }
      break;
    case 'evolving': {
      refList('candidates', team.candidates);
      const candidates = team.candidates ?? [];
      const candidateNames = new Set(candidates);
      const excluded = new Set(team.exclude);
      for (const [index, entry] of (team.exclude ?? []).entries()) {
        const candidate = entry.split('@')[0] as string;
        if (!candidateNames.has(candidate))
          problems.push(
            source.problem(
              at('exclude', index),
              () =>
                `"${entry}" is not a candidate (candidates: ${nameList(candidates)}); exclude names candidates, optionally with @version.`,
            ),
          );
      }
      if (
        candidates.length > 0 &&
        excluded.size > 0 &&
        candidates.every((candidate) => excluded.has(candidate))
      )
        problems.push(
          source.problem(at('exclude'), 'exclude leaves no candidate to choose; remove one entry.'),
        );
      break;
    }
    default:
      break;
  }
  return problems;

  function topicName(path: DataPath, topic: string): void {
    if (!topicPattern.test(topic))
      problems.push(
        source.problem(
          at(...path),
          `"${topic}" is not a topic name; use 1 to 100 letters, digits, '_', '-', '.', ':' or '/', starting with a letter or digit.`,
        ),
      );
  }

  function memberOf(
    path: DataPath,
    name: string,
    members: ReadonlySet<string>,
    what: string,
    extras: readonly string[] = [],
  ): void {
    if (members.has(name)) return;
    problems.push(
      source.problem(
        path,
        () =>
          `${what} must be a member of this group chat; "${name}" is not (members: ${nameList([...members, ...extras])}).`,
      ),
    );
  }
}
