/** magentic()'s ledgers: their types, and lenient parsing of the JSON the manager writes. */

import type { z } from 'zod';
import { lazySchema } from '../core/load-zod.js';
import { balancedEnd, textOf } from './shared.js';

// The prompts live in magentic-prompts.ts; they are still exported from here.
export {
  conversationSection,
  finalAnswerPrompt,
  managerInstructions,
  memberPrompt,
  progressPrompt,
  replanPrompt,
  retryPrompt,
  taskLedgerPrompt,
} from './magentic-prompts.js';

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
  const whole = wholeObject(text);
  if (whole !== undefined) return { ok: true, value: whole };
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
    // The slice as it is, then (only if that fails) with trailing commas removed.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const value: unknown = JSON.parse(attempt === 0 ? slice : slice.replace(/,(\s*[}\]])/g, '$1'));
        if (value !== null && typeof value === 'object' && !Array.isArray(value))
          return { ok: true, value: value as Record<string, unknown> };
      } catch (error) {
        lastError = `the JSON is invalid (${(error as Error).message})`;
      }
    }
  }
  return { ok: false, error: lastError };
}

/**
 * The common case, without scanning: the whole text (or the whole of one code fence that is the
 * whole text) is a JSON object. Undefined otherwise, and `extractJsonObject` searches the text.
 */
function wholeObject(text: string): Record<string, unknown> | undefined {
  let body = text.trim();
  if (body.startsWith('```')) {
    const lineEnd = body.indexOf('\n');
    if (lineEnd === -1 || body.length < lineEnd + 4 || !body.endsWith('```')) return undefined;
    body = body.slice(lineEnd + 1, -3).trim();
  }
  if (body[0] !== '{' || body[body.length - 1] !== '}') return undefined;
  try {
    const value: unknown = JSON.parse(body);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const squash = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Canonical key names by spelling: `exact` for the spellings as listed, `squashed` for any case and punctuation. */
interface KeyLookup {
  exact: Map<string, string>;
  squashed: Map<string, string>;
}

/**
 * Builds the lookup of a table of canonical keys and their aliases; done once per table, at module
 * load. No two canonical keys of a table may share a squashed spelling (checked here), so an exact
 * match always names the same key the squashed match would.
 */
function keyLookup(aliases: Readonly<Record<string, readonly string[]>>): KeyLookup {
  const lookup: KeyLookup = { exact: new Map(), squashed: new Map() };
  for (const [canonical, others] of Object.entries(aliases))
    for (const spelling of [canonical, ...others]) {
      const owner = lookup.squashed.get(squash(spelling));
      if (owner !== undefined && owner !== canonical)
        throw new Error(`magentic-ledger: "${spelling}" would name both ${owner} and ${canonical}`);
      lookup.exact.set(spelling, canonical);
      lookup.squashed.set(squash(spelling), canonical);
    }
  return lookup;
}

/** Renames keys to their canonical spelling, ignoring case, `_`, `-` and spaces, and known aliases. */
function canonicalKeys(value: Record<string, unknown>, lookup: KeyLookup): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const canonical = lookup.exact.get(key) ?? lookup.squashed.get(squash(key));
    if (canonical !== undefined && !(canonical in renamed)) renamed[canonical] = value[key];
  }
  return renamed;
}

const textKeys = keyLookup({ text: ['step', 'description', 'task', 'action', 'fact'] });

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
      const named = canonicalKeys(item as Record<string, unknown>, textKeys);
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

const taskLedgerSchema = lazySchema((z) =>
  z.object({
    facts: z.object({
      given: z.array(z.string()),
      toLookUp: z.array(z.string()),
      toDerive: z.array(z.string()),
      guesses: z.array(z.string()),
    }),
    plan: z.array(z.string().min(1)).min(1, 'the plan needs at least one step'),
  }),
);

const factAliases = {
  given: ['verified', 'givenOrVerified', 'givenFacts', 'verifiedFacts', 'known'],
  toLookUp: ['lookUp', 'factsToLookUp', 'toLookup'],
  toDerive: ['derive', 'factsToDerive'],
  guesses: ['educatedGuesses', 'guess'],
};
const factKeys = keyLookup(factAliases);
const taskLedgerKeys = keyLookup({ facts: ['factSheet', 'ledger'], plan: ['steps'], ...factAliases });

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
  const top = canonicalKeys(json.value, taskLedgerKeys);
  const factSource =
    top.facts !== null && typeof top.facts === 'object' && !Array.isArray(top.facts)
      ? canonicalKeys(top.facts as Record<string, unknown>, factKeys)
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
  const parsed = taskLedgerSchema().safeParse(candidate);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: describeIssues(parsed.error) };
}

const answerKeys = keyLookup({
  answer: ['value', 'result', 'decision'],
  reason: ['reasoning', 'explanation', 'why', 'rationale'],
});

function toAnswer(value: unknown, flag: boolean): unknown {
  let answer: unknown = value;
  let reason: unknown = '';
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const named = canonicalKeys(value as Record<string, unknown>, answerKeys);
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

const progressSchema = lazySchema((z) => {
  const flagSchema = z.object({ answer: z.boolean(), reason: z.string() });
  const textSchema = z.object({ answer: z.string(), reason: z.string() });
  return z.object({
    requestSatisfied: flagSchema,
    inLoop: flagSchema,
    progressBeingMade: flagSchema,
    nextSpeaker: textSchema,
    instruction: textSchema,
  });
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

const progressKeys = keyLookup({
  requestSatisfied: ['isRequestSatisfied', 'satisfied', 'requestIsSatisfied', 'done'],
  inLoop: ['isInLoop', 'loop', 'looping'],
  progressBeingMade: ['isProgressBeingMade', 'progress', 'makingProgress'],
  nextSpeaker: ['speaker', 'next', 'nextMember', 'nextAgent'],
  instruction: ['instructionOrQuestion', 'nextInstruction', 'task'],
});

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
  const top = canonicalKeys(json.value, progressKeys);
  const parsed = progressSchema().safeParse({
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
