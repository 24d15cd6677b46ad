/** magentic()'s ledgers: their types, the manager's prompts, and lenient parsing of the JSON the manager writes. */

import { z } from 'zod';
import { textOf } from './shared.js';

/**
 * What the manager knows about the task, sorted the way a careful analyst would.
 *
 * @example
 * ```ts
 * const facts: TaskFacts = { given: ['The order is A-1001'], toLookUp: ['Its charges'], toDerive: [], guesses: [] };
 * ```
 */
export interface TaskFacts {
  /** Facts stated in the task or verified by the team. */
  given: string[];
  /** Facts someone has to find. */
  toLookUp: string[];
  /** Facts to compute or reason out from others. */
  toDerive: string[];
  /** Educated guesses, not yet checked. */
  guesses: string[];
}

/**
 * The task ledger: the facts and the plan. Made at the start and again on every replan.
 *
 * @example
 * ```ts
 * const ledger: TaskLedger = { facts, plan: ['researcher: find the charges', 'billing: refund the duplicate'] };
 * ```
 */
export interface TaskLedger {
  facts: TaskFacts;
  plan: string[];
}

/**
 * One answer of the progress ledger and why.
 *
 * @example
 * ```ts
 * const answer: LedgerAnswer<boolean> = { answer: false, reason: 'No source found yet.' };
 * ```
 */
export interface LedgerAnswer<T> {
  answer: T;
  reason: string;
}

/**
 * The manager's assessment after each round, and who acts next.
 *
 * @example
 * ```ts
 * if (!ledger.requestSatisfied.answer) console.log(`${ledger.nextSpeaker.answer}: ${ledger.instruction.answer}`);
 * ```
 */
export interface ProgressLedger {
  requestSatisfied: LedgerAnswer<boolean>;
  inLoop: LedgerAnswer<boolean>;
  progressBeingMade: LedgerAnswer<boolean>;
  /** A member name (resolved to the exact member name when the manager spelled it loosely). */
  nextSpeaker: LedgerAnswer<string>;
  instruction: LedgerAnswer<string>;
}

/** A member as the manager's prompts describe it. */
export interface MemberCard {
  name: string;
  description: string;
}

/** One turn of the team conversation. */
export interface ConversationEntry {
  round: number;
  /** 0 before the first reset, then 1, 2, ... */
  attempt: number;
  speaker: string;
  instruction: string;
  reply: string;
  failed: boolean;
}

/** A parse outcome: the value, or an error to show the model when asking again. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

// ---- prompts ----------------------------------------------------------------------------------

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

// ---- parsing ----------------------------------------------------------------------------------

/**
 * The first JSON object in a model's text: inside a code fence if there is one, otherwise the
 * first balanced `{ ... }`. Trailing commas are forgiven.
 *
 * @example
 * ```ts
 * extractJsonObject('Sure! {"a": [1, 2,]} Hope that helps.'); // { ok: true, value: { a: [1, 2] } }
 * ```
 */
export function extractJsonObject(text: string): Parsed<Record<string, unknown>> {
  const fenced = /```[a-zA-Z]*\s*\n?([\s\S]*?)```/.exec(text)?.[1];
  const candidates = fenced?.includes('{') ? [fenced, text] : [text];
  let lastError = 'the reply contains no JSON object';
  for (const candidate of candidates) {
    const start = candidate.indexOf('{');
    if (start === -1) continue;
    const end = balancedEnd(candidate, start);
    if (end === -1) {
      lastError = 'the JSON object is not closed';
      continue;
    }
    const slice = candidate.slice(start, end + 1);
    for (const attempt of [slice, slice.replace(/,(\s*[}\]])/g, '$1')]) {
      try {
        const value: unknown = JSON.parse(attempt);
        if (value !== null && typeof value === 'object' && !Array.isArray(value))
          return { ok: true, value: value as Record<string, unknown> };
      } catch (error) {
        lastError = `the JSON is invalid (${(error as Error).message})`;
      }
    }
  }
  return { ok: false, error: lastError };
}

/** Index of the `}` closing the object that opens at `start`, or -1. Skips braces inside strings. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (inString) {
      if (character === '\\') index++;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') inString = true;
    else if (character === '{') depth++;
    else if (character === '}' && --depth === 0) return index;
  }
  return -1;
}

const squash = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Renames keys to their canonical spelling, ignoring case, `_`, `-` and spaces, and known aliases. */
function canonicalKeys(
  value: Record<string, unknown>,
  aliases: Record<string, readonly string[]>,
): Record<string, unknown> {
  const lookup = new Map<string, string>();
  for (const [canonical, others] of Object.entries(aliases))
    for (const spelling of [canonical, ...others]) lookup.set(squash(spelling), canonical);
  const renamed: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const canonical = lookup.get(squash(key));
    if (canonical !== undefined && !(canonical in renamed)) renamed[canonical] = item;
  }
  return renamed;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

function stringList(value: unknown): unknown {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (!Array.isArray(value)) return value;
  return value.map((item) => {
    if (typeof item === 'number') return String(item);
    if (item !== null && typeof item === 'object') {
      const named = canonicalKeys(item as Record<string, unknown>, {
        text: ['step', 'description', 'task', 'action', 'fact'],
      });
      return typeof named.text === 'string' ? named.text : textOf(item);
    }
    return item;
  });
}

function planList(value: unknown): unknown {
  if (typeof value === 'string')
    return value
      .split('\n')
      .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, '').trim())
      .filter((line) => line !== '');
  return stringList(value);
}

const taskLedgerSchema = z.object({
  facts: z.object({
    given: z.array(z.string()),
    toLookUp: z.array(z.string()),
    toDerive: z.array(z.string()),
    guesses: z.array(z.string()),
  }),
  plan: z.array(z.string().min(1)).min(1, 'the plan needs at least one step'),
});

const factAliases = {
  given: ['verified', 'givenOrVerified', 'givenFacts', 'verifiedFacts', 'known'],
  toLookUp: ['lookUp', 'factsToLookUp', 'toLookup'],
  toDerive: ['derive', 'factsToDerive'],
  guesses: ['educatedGuesses', 'guess'],
};

/**
 * Parses a task ledger from the manager's text, forgiving key spelling, a plan written as lines, and a single fact given as a string.
 *
 * @example
 * ```ts
 * parseTaskLedger('```json\n{"facts": {"given": ["x"]}, "plan": "1. look\\n2. answer"}\n```');
 * // { ok: true, value: { facts: { given: ['x'], toLookUp: [], toDerive: [], guesses: [] }, plan: ['look', 'answer'] } }
 * ```
 */
export function parseTaskLedger(text: string): Parsed<TaskLedger> {
  const json = extractJsonObject(text);
  if (!json.ok) return json;
  const top = canonicalKeys(json.value, { facts: ['factSheet', 'ledger'], plan: ['steps'], ...factAliases });
  const factSource =
    top.facts !== null && typeof top.facts === 'object' && !Array.isArray(top.facts)
      ? canonicalKeys(top.facts as Record<string, unknown>, factAliases)
      : top;
  const candidate = {
    facts: {
      given: stringList(factSource.given),
      toLookUp: stringList(factSource.toLookUp),
      toDerive: stringList(factSource.toDerive),
      guesses: stringList(factSource.guesses),
    },
    plan: planList(top.plan),
  };
  const parsed = taskLedgerSchema.safeParse(candidate);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: describeIssues(parsed.error) };
}

function toAnswer(value: unknown, flag: boolean): unknown {
  let answer: unknown = value;
  let reason: unknown = '';
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const named = canonicalKeys(value as Record<string, unknown>, {
      answer: ['value', 'result', 'decision'],
      reason: ['reasoning', 'explanation', 'why', 'rationale'],
    });
    answer = named.answer;
    reason = named.reason ?? '';
  }
  if (flag && typeof answer === 'string') {
    const word = answer.trim().toLowerCase();
    if (word === 'true' || word === 'yes') answer = true;
    else if (word === 'false' || word === 'no') answer = false;
  }
  if (!flag && typeof answer === 'string') answer = answer.trim();
  return { answer, reason: typeof reason === 'string' ? reason : textOf(reason) };
}

const flagSchema = z.object({ answer: z.boolean(), reason: z.string() });
const textSchema = z.object({ answer: z.string(), reason: z.string() });
const progressSchema = z.object({
  requestSatisfied: flagSchema,
  inLoop: flagSchema,
  progressBeingMade: flagSchema,
  nextSpeaker: textSchema,
  instruction: textSchema,
});

/**
 * Finds the member a loosely spelled name means: exact, then ignoring case, then ignoring punctuation and spaces.
 *
 * @example
 * ```ts
 * matchMember('Web Surfer', ['web-surfer', 'coder']); // 'web-surfer'
 * ```
 */
export function matchMember(name: string, members: readonly string[]): string | undefined {
  const cleaned = name.trim().replace(/^[@"'`]+|["'`.]+$/g, '');
  if (members.includes(cleaned)) return cleaned;
  const lower = members.filter((member) => member.toLowerCase() === cleaned.toLowerCase());
  if (lower.length === 1) return lower[0];
  const squashed = members.filter((member) => squash(member) === squash(cleaned));
  return squashed.length === 1 ? squashed[0] : undefined;
}

/**
 * Parses a progress ledger from the manager's text. When the request is not satisfied, the next
 * speaker must name a member (resolved to its exact name) and the instruction must not be empty.
 *
 * @example
 * ```ts
 * const parsed = parseProgressLedger(reply.text, ['searcher', 'coder']);
 * if (!parsed.ok) console.log(parsed.error); // shown to the manager when it is asked again
 * ```
 */
export function parseProgressLedger(text: string, members: readonly string[]): Parsed<ProgressLedger> {
  const json = extractJsonObject(text);
  if (!json.ok) return json;
  const top = canonicalKeys(json.value, {
    requestSatisfied: ['isRequestSatisfied', 'satisfied', 'requestIsSatisfied', 'done'],
    inLoop: ['isInLoop', 'loop', 'looping'],
    progressBeingMade: ['isProgressBeingMade', 'progress', 'makingProgress'],
    nextSpeaker: ['speaker', 'next', 'nextMember', 'nextAgent'],
    instruction: ['instructionOrQuestion', 'nextInstruction', 'task'],
  });
  const parsed = progressSchema.safeParse({
    requestSatisfied: toAnswer(top.requestSatisfied, true),
    inLoop: toAnswer(top.inLoop, true),
    progressBeingMade: toAnswer(top.progressBeingMade, true),
    nextSpeaker: toAnswer(top.nextSpeaker, false),
    instruction: toAnswer(top.instruction, false),
  });
  if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
  const ledger = parsed.data;
  if (ledger.requestSatisfied.answer) return { ok: true, value: ledger };
  const speaker = matchMember(ledger.nextSpeaker.answer, members);
  if (speaker === undefined)
    return {
      ok: false,
      error: `nextSpeaker "${ledger.nextSpeaker.answer}" is not a team member; choose exactly one of: ${members.join(', ')}`,
    };
  if (ledger.instruction.answer === '')
    return { ok: false, error: 'instruction is empty; say what the next speaker must do' };
  return { ok: true, value: { ...ledger, nextSpeaker: { ...ledger.nextSpeaker, answer: speaker } } };
}
