/** magentic()'s prompts: the manager's instructions, the ledger requests, the member's instruction and the final answer. */

import type { ConversationEntry, MemberCard, TaskFacts, TaskLedger } from './magentic-ledger.js';

/**
 * The built-in manager agent's system instructions (used when `manager` is a model).
 *
 * @example
 * ```ts
 * const boss = agent({ name: 'boss', instructions: managerInstructions, model: 'openai:gpt-4o' });
 * ```
 */
export const managerInstructions =
  'You manage a team of agents working on a task. You keep a ledger of facts and a plan, judge ' +
  'progress after every round, choose who acts next and tell them exactly what to do, and finally ' +
  'write the answer for the user. When a message asks for JSON, reply with exactly one JSON object ' +
  'and no other text.';

const ledgerShape = `{
  "facts": {
    "given": ["facts stated in the task or already verified"],
    "toLookUp": ["facts a member must find, and where"],
    "toDerive": ["facts to compute or reason out"],
    "guesses": ["educated guesses, clearly unverified"]
  },
  "plan": ["short steps in order, each naming the member who should do it"]
}`;

function teamSection(members: readonly MemberCard[]): string {
  return members.map((member) => `- ${member.name}: ${member.description}`).join('\n');
}

function factsSection(facts: TaskFacts): string {
  const list = (items: string[]) =>
    items.length === 0 ? '  (none)' : items.map((item) => `  - ${item}`).join('\n');
  return [
    `Given or verified:\n${list(facts.given)}`,
    `To look up:\n${list(facts.toLookUp)}`,
    `To derive:\n${list(facts.toDerive)}`,
    `Guesses:\n${list(facts.guesses)}`,
  ].join('\n');
}

function planSection(plan: string[]): string {
  return plan.map((step, index) => `${index + 1}. ${step}`).join('\n');
}

/**
 * The conversation as text for a prompt, one block per turn.
 *
 * @example
 * ```ts
 * conversationSection([{ round: 1, attempt: 0, speaker: 'coder', instruction: 'Add 2+2', reply: '4', failed: false }]);
 * // '[round 1] coder was asked: Add 2+2\ncoder replied: 4'
 * ```
 */
export function conversationSection(entries: readonly ConversationEntry[], empty = '(nothing yet)'): string {
  if (entries.length === 0) return empty;
  return entries
    .map(
      (entry) =>
        `[round ${entry.round}] ${entry.speaker} was asked: ${entry.instruction}\n` +
        `${entry.speaker} ${entry.failed ? 'failed' : 'replied'}: ${entry.reply}`,
    )
    .join('\n\n');
}

/**
 * The prompt that asks the manager for the first task ledger (facts and plan, as JSON).
 *
 * @example
 * ```ts
 * const prompt = taskLedgerPrompt('Compare EV sales', [{ name: 'searcher', description: 'Searches the web' }]);
 * ```
 */
export function taskLedgerPrompt(task: string, members: readonly MemberCard[]): string {
  return `# Task ledger
Before the team starts, sort out what is known about the task and make a plan.

## Task
${task}

## Team
${teamSection(members)}

Reply with one JSON object of this shape and nothing else:
${ledgerShape}`;
}

/**
 * The prompt that asks for an updated task ledger: after a stall (with what was learned) or after a reviewer's feedback.
 *
 * @example
 * ```ts
 * replanPrompt({ task, members, ledger, conversation, why: 'The team stalled: the site is down.' });
 * ```
 */
export function replanPrompt(options: {
  task: string;
  members: readonly MemberCard[];
  ledger: TaskLedger;
  conversation: readonly ConversationEntry[];
  why: string;
}): string {
  return `# Replan
${options.why}
Update the facts with what the work so far established (move verified facts to "given", drop guesses that proved wrong) and write a new plan. The team conversation will restart from the new plan, so the plan must stand on its own.

## Task
${options.task}

## Team
${teamSection(options.members)}

## Current facts
${factsSection(options.ledger.facts)}

## Current plan
${planSection(options.ledger.plan)}

## Work so far
${conversationSection(options.conversation)}

Reply with one JSON object of this shape and nothing else:
${ledgerShape}`;
}

/**
 * The prompt that asks for the progress ledger of a round.
 *
 * @example
 * ```ts
 * const prompt = progressPrompt({ task, members, ledger, conversation, round: 3 });
 * ```
 */
export function progressPrompt(options: {
  task: string;
  members: readonly MemberCard[];
  ledger: TaskLedger;
  conversation: readonly ConversationEntry[];
  round: number;
}): string {
  const names = options.members.map((member) => member.name).join(', ');
  return `# Progress check (round ${options.round})
Judge where the team stands and decide what happens next.

## Task
${options.task}

## Team
${teamSection(options.members)}

## Facts
${factsSection(options.ledger.facts)}

## Plan
${planSection(options.ledger.plan)}

## Conversation so far
${conversationSection(options.conversation)}

Answer each question with an "answer" and a one-sentence "reason":
- requestSatisfied (true/false): is the task completely done, with everything the answer needs already in the conversation?
- inLoop (true/false): is the team repeating the same requests or replies without getting anywhere?
- progressBeingMade (true/false): did the recent rounds add something new? Answer false after repeated failures or empty replies.
- nextSpeaker (text): who acts next; exactly one of: ${names}.
- instruction (text): what that member must do now, self-contained (they see only the task, this instruction and the last few replies).

Reply with one JSON object of this shape and nothing else:
{
  "requestSatisfied": { "answer": false, "reason": "..." },
  "inLoop": { "answer": false, "reason": "..." },
  "progressBeingMade": { "answer": true, "reason": "..." },
  "nextSpeaker": { "answer": "member name", "reason": "..." },
  "instruction": { "answer": "what to do", "reason": "..." }
}`;
}

/**
 * The prompt that asks for the final answer; `ending` says why the work stopped.
 *
 * @example
 * ```ts
 * finalAnswerPrompt({ task, ledger, transcript, ending: 'The team used all 20 rounds.' });
 * ```
 */
export function finalAnswerPrompt(options: {
  task: string;
  ledger: TaskLedger;
  transcript: readonly ConversationEntry[];
  ending: string;
}): string {
  return `# Final answer
${options.ending}
Write the final answer to the task for the person who asked, from the facts and the work below. If the task is not fully solved, give the best answer the work supports and say plainly what is missing or uncertain. Reply with the answer only.

## Task
${options.task}

## Facts
${factsSection(options.ledger.facts)}

## Plan
${planSection(options.ledger.plan)}

## Work
${conversationSection(options.transcript, '(no member has acted)')}`;
}

/**
 * What a member receives when it is asked to act: the task, the last few turns and its instruction.
 *
 * @example
 * ```ts
 * memberPrompt({ team: 'research', member: 'searcher', task, recent: conversation.slice(-6), instruction: 'Find the 2024 figures' });
 * ```
 */
export function memberPrompt(options: {
  team: string;
  member: string;
  task: string;
  recent: readonly ConversationEntry[];
  instruction: string;
}): string {
  return `You are "${options.member}", a member of the team "${options.team}". A manager coordinates the team and has given you an instruction.

## The team's task
${options.task}

## Recent team conversation
${conversationSection(options.recent)}

## Your instruction
${options.instruction}

Carry out the instruction and reply with your result.`;
}

/**
 * The follow-up message that asks the manager again after an unusable reply.
 *
 * @example
 * ```ts
 * retryPrompt('nextSpeaker "Wizard" is not a team member');
 * ```
 */
export function retryPrompt(error: string): string {
  return `Your reply could not be used: ${error}\nReply again with only the corrected JSON object, in the shape asked for above.`;
}
