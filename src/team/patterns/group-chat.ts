/** Pattern groupChat: members take turns (round robin or picked by a selector) until a condition ends the chat. */

import { z } from 'zod';
import type { Agent } from '../../agents/agent.js';
import type { ModelSpec } from '../../models/resolve-model.js';
import { groupChat, type SpeakerSelection } from '../../patterns/group-chat.js';
import { compact } from '../build-parts.js';
import { loopDetectionOf } from '../team-agent-options.js';
import { memberList, memberReference } from '../team-schema-parts.js';
import { isModelString, nameList } from '../team-words.js';
import type { DataPath } from '../yaml-source.js';
import { checkTerminate, terminateSchema, terminationOf } from './group-chat-terminate.js';
import { asTeamRunnable, definePattern, listReferences } from './pattern-module.js';
import { maxRounds, members } from './shared-fields.js';

const selectObject = z
  .strictObject({
    selector: z
      .string({ error: 'expected an agent name or a model string "provider:model"' })
      .min(1)
      .describe('The agent that picks the next speaker, or "provider:model" for a built-in selector agent.'),
    allowRepeat: z.boolean().optional().describe('May the last speaker speak again? Default false.'),
    candidates: memberList('member names')
      .optional()
      .describe('Only these members may be picked. Default: every member.'),
    fallback: memberReference
      .optional()
      .describe('Who speaks when the selector names no candidate: "round-robin" (default) or a member name.'),
  })
  .describe('An LLM picks each speaker.');

const select = z
  .union([z.literal('round-robin'), selectObject], {
    error: 'expected "round-robin" or { selector, allowRepeat?, candidates?, fallback? }',
  })
  .optional()
  .describe('groupChat: "round-robin" (default) or { selector: agent or "provider:model", ... }.');

/** The groupChat pattern of team files. */
export const groupChatPattern = definePattern({
  kind: 'groupChat',
  fields: {
    members,
    select,
    terminate: terminateSchema.optional(),
    task: z
      .string()
      .optional()
      .describe('groupChat: the chat’s goal, shown to every speaker and to the selector.'),
    loopDetection: loopDetectionOf({
      maxRepeats:
        'Times one text (case and whitespace folded) may be said in the chat before it counts as a loop. Default 3.',
      response:
        'stop (the chat ends, stoppedBy "loop: ..."), warn (default: the chat tells the members to move on, stops if it goes on) or escalate (wait for the signal loop:<chat>).',
      options:
        'groupChat: detect members repeating the same message and stop, warn them or ask a human. Off by default.',
    }).optional(),
    maxRounds,
  },
  required: { members: 'a list of the agents, teams and humans that take part.' },
  check({ team, source, at, problem, report, reference, references }) {
    references('members', team.members);
    const chatMembers = new Set(team.members);
    if (chatMembers.size === 1) problem(['members'], 'a group chat needs at least two members.');
    const memberOf = (path: DataPath, name: string, what: string, extras: readonly string[] = []): void => {
      if (chatMembers.has(name)) return;
      problem(
        path,
        () =>
          `${what} must be a member of this group chat; "${name}" is not (members: ${nameList([...chatMembers, ...extras])}).`,
      );
    };
    const chosen = team.select;
    if (typeof chosen === 'object') {
      if (!isModelString(chosen.selector))
        reference(['select', 'selector'], chosen.selector, ['agent'], 'select.selector');
      for (const [index, name] of (chosen.candidates ?? []).entries())
        memberOf(['select', 'candidates', index], name, 'a candidate');
      if (chosen.fallback !== undefined && chosen.fallback !== 'round-robin')
        memberOf(['select', 'fallback'], chosen.fallback, 'the fallback speaker', ['round-robin']);
    }
    if (team.terminate !== undefined)
      report(checkTerminate(source, at('terminate'), team.terminate, chatMembers));
  },
  build({ definition, version, members: membersOf, agentOrModel }) {
    return asTeamRunnable(
      groupChat({
        name: definition.name,
        version,
        members: membersOf(definition.members),
        ...compact({
          select: selection(definition.select, agentOrModel),
          terminate: definition.terminate === undefined ? undefined : terminationOf(definition.terminate),
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
  },
  memberReferences: (definition) => listReferences('members', definition.members),
  inlineModels(definition) {
    const selector = typeof definition.select === 'object' ? definition.select.selector : undefined;
    return selector !== undefined && isModelString(selector)
      ? [{ path: ['select', 'selector'], model: selector }]
      : [];
  },
  internalAgents(definition) {
    const selector = typeof definition.select === 'object' ? definition.select.selector : undefined;
    return selector !== undefined && isModelString(selector) ? [`${definition.name}-selector`] : [];
  },
});

function selection(
  chosen: z.output<typeof select>,
  agentOrModel: (value: string) => Agent<unknown> | ModelSpec,
): SpeakerSelection | undefined {
  if (chosen === undefined || chosen === 'round-robin') return chosen;
  const candidates = chosen.candidates;
  return {
    selector: agentOrModel(chosen.selector),
    ...compact({
      allowRepeat: chosen.allowRepeat,
      candidates: candidates === undefined ? undefined : () => candidates,
      fallback: chosen.fallback,
    }),
  };
}
