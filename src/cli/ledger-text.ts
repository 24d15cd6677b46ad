/** Pattern ledgers and decisions as text for people: one compact form for the live view, one in full for `baton show`. */

import { preview } from './format.js';

/**
 * How a ledger's data is laid out: a task ledger (`facts` and `plan`), a progress ledger
 * (questions with `{ answer, reason }`), or anything else.
 */
export type LedgerShape = 'task' | 'progress' | 'other';

/** The progress ledger's questions in the order they are printed, with their labels. */
const progressQuestions = [
  ['requestSatisfied', 'request satisfied?'],
  ['inLoop', 'in a loop?'],
  ['progressBeingMade', 'progress being made?'],
  ['nextSpeaker', 'next speaker'],
  ['instruction', 'instruction'],
] as const;

/** The task ledger's fact groups in the order they are printed, with their labels. */
const factGroups = [
  ['given', 'given'],
  ['toLookUp', 'to look up'],
  ['toDerive', 'to derive'],
  ['guesses', 'guesses'],
] as const;

/** The most lines `ledgerDetails` prints for a ledger it does not know, and the widest line. */
const otherLines = 20;
const otherWidth = 160;

/** The most plan steps the live view lists (the rest are counted). */
const livePlanSteps = 8;

type Fields = Readonly<Record<string, unknown>>;

const isFields = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Tells a ledger's layout from its data, whatever the ledger is called: an object with `facts`
 * or `plan` is a task ledger, one with any of the progress questions a progress ledger.
 *
 * @example
 * ```ts
 * ledgerShape({ facts: { given: ['a'] }, plan: ['b'] }); // 'task'
 * ```
 */
export function ledgerShape(data: unknown): LedgerShape {
  if (!isFields(data)) return 'other';
  if ('facts' in data || 'plan' in data) return 'task';
  if (progressQuestions.some(([key]) => key in data)) return 'progress';
  return 'other';
}

/**
 * A ledger in a few lines for the live view: for a task ledger the fact counts and the
 * numbered plan (one line per step, unindented); for a progress ledger the answers; otherwise
 * the data as one line of JSON. Lines are shortened to `width` characters.
 *
 * @example
 * ```ts
 * ledgerSummary('progress', 2, { requestSatisfied: { answer: false, reason: 'no draft' } }, 100);
 * // ['progress ledger, round 2: satisfied no']
 * ```
 */
export function ledgerSummary(ledger: string, round: number, data: unknown, width: number): string[] {
  const title = `${ledger} ledger, round ${round}:`;
  const shape = ledgerShape(data);
  if (shape === 'task' && isFields(data)) {
    const facts = isFields(data.facts) ? data.facts : {};
    const ungrouped = isFields(data.facts) ? 0 : listOf(data.facts).length;
    const counts = [
      ...factGroups.map(([key, label]) => `${listOf(facts[key]).length} ${label}`),
      ...(ungrouped > 0 ? [`${ungrouped} ungrouped`] : []),
    ].join(', ');
    const plan = listOf(data.plan);
    const lines = [
      shorten(`${title} facts ${counts}; plan of ${plan.length} step${plan.length === 1 ? '' : 's'}`, width),
    ];
    for (const [index, step] of plan.slice(0, livePlanSteps).entries())
      lines.push(shorten(`${index + 1}. ${step}`, width));
    if (plan.length > livePlanSteps) lines.push(`… ${plan.length - livePlanSteps} more`);
    return lines;
  }
  if (shape === 'progress' && isFields(data)) {
    const labels: Record<string, string> = {
      requestSatisfied: 'satisfied',
      inLoop: 'loop',
      progressBeingMade: 'progress',
      nextSpeaker: 'next',
    };
    const parts = progressQuestions.flatMap(([key]) => {
      if (!(key in data)) return [];
      const answer = answerText(answerOf(data[key]));
      return [key === 'instruction' ? `“${answer}”` : `${labels[key]} ${answer}`];
    });
    return [shorten(`${title} ${parts.join(' · ')}`, width)];
  }
  return [shorten(`${title} ${preview(data, Number.MAX_SAFE_INTEGER)}`, width)];
}

/**
 * A ledger in full for `baton show`: a task ledger's facts by group and its numbered plan; a
 * progress ledger's questions, each with its answer and reason; anything else as indented
 * JSON, at most 20 lines.
 *
 * @example
 * ```ts
 * ledgerDetails({ facts: { given: ['Q3 revenue is 4.2M'] }, plan: ['Draft the summary'] });
 * // ['facts', '  given:', '    - Q3 revenue is 4.2M', '  to look up: (none)', ..., 'plan', '  1. Draft the summary']
 * ```
 */
export function ledgerDetails(data: unknown): string[] {
  const shape = ledgerShape(data);
  if (shape === 'task' && isFields(data)) {
    const facts = isFields(data.facts) ? data.facts : {};
    const lines = ['facts'];
    for (const [key, label] of factGroups) {
      const items = listOf(facts[key]);
      if (items.length === 0) lines.push(`  ${label}: (none)`);
      else lines.push(`  ${label}:`, ...items.map((item) => `    - ${item}`));
    }
    for (const key of Object.keys(facts)) {
      if (!factGroups.some(([known]) => known === key))
        lines.push(`  ${key}:`, ...listOf(facts[key]).map((item) => `    - ${item}`));
    }
    if (data.facts !== undefined && !isFields(data.facts))
      lines.push('  ungrouped:', ...listOf(data.facts).map((item) => `    - ${item}`));
    const plan = listOf(data.plan);
    lines.push(plan.length === 0 ? 'plan: (none)' : 'plan');
    for (const [index, step] of plan.entries()) lines.push(`  ${index + 1}. ${step}`);
    return lines;
  }
  if (shape === 'progress' && isFields(data)) {
    const width = Math.max(...progressQuestions.map(([, label]) => label.length)) + 2;
    const lines = progressQuestions.map(([key, label]) => {
      const value = data[key];
      const answer = key in data ? answerText(answerOf(value)) : '(not answered)';
      const reason = isFields(value) && value.reason !== undefined ? ` — ${textOf(value.reason)}` : '';
      return `${label.padEnd(width)}${answer}${reason}`;
    });
    for (const key of Object.keys(data)) {
      if (!progressQuestions.some(([known]) => known === key))
        lines.push(`${key.padEnd(width)}${preview(data[key], otherWidth)}`);
    }
    return lines;
  }
  return boundedJson(data);
}

/**
 * A decision recorded by a pattern (`{ decision, reasons, data? }`), in full for `baton show`.
 * `fallback` names the decision when the recorded value lacks one (from the step's meta).
 *
 * @example
 * ```ts
 * decisionDetails({ decision: 'approved', reasons: ['tests pass'] });
 * // ['decision: approved', 'reasons:', '  - tests pass']
 * ```
 */
export function decisionDetails(recorded: unknown, fallback?: string): string[] {
  const fields = isFields(recorded) ? recorded : {};
  const decision = fields.decision === undefined ? fallback : textOf(fields.decision);
  const reasons = listOf(fields.reasons);
  const lines = [`decision: ${decision ?? '(unknown)'}`];
  if (reasons.length === 0) lines.push('reasons: (none given)');
  else lines.push('reasons:', ...reasons.map((reason) => `  - ${reason}`));
  if (fields.data !== undefined) lines.push(`data: ${preview(fields.data, otherWidth)}`);
  if (!isFields(recorded) && recorded !== undefined) lines.push(`recorded: ${preview(recorded, otherWidth)}`);
  return lines;
}

/**
 * A decision on one line for the live view: the decision, then its reasons.
 *
 * @example
 * ```ts
 * decisionSummary('approved', ['tests pass', 'style ok'], 80); // 'approved — tests pass; style ok'
 * ```
 */
export function decisionSummary(decision: string, reasons: readonly unknown[], width: number): string {
  const because = listOf(reasons);
  return shorten(because.length === 0 ? decision : `${decision} — ${because.join('; ')}`, width);
}

/** The answer of a progress question, which should be `{ answer, reason }` but may be a bare value. */
function answerOf(value: unknown): unknown {
  return isFields(value) ? value.answer : value;
}

/** An answer for people: booleans as yes/no, strings as they are, the rest as JSON. */
function answerText(answer: unknown): string {
  if (answer === true) return 'yes';
  if (answer === false) return 'no';
  if (answer === undefined || answer === null) return '?';
  return textOf(answer);
}

/** A list of items as text: an array item by item, a single value as one item, nothing as none. */
function listOf(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map(textOf);
}

/** Strings as they are, anything else as one line of JSON. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value.replace(/\s*\n\s*/g, ' ') : preview(value, otherWidth);
}

function shorten(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(1, width - 1))}…` : text;
}

/** Indented JSON, at most `otherLines` lines of at most `otherWidth` characters. */
function boundedJson(data: unknown): string[] {
  let text: string;
  try {
    text = JSON.stringify(data, null, 2) ?? String(data);
  } catch {
    text = String(data);
  }
  const lines = text.split('\n').map((line) => shorten(line, otherWidth));
  if (lines.length <= otherLines) return lines;
  return [...lines.slice(0, otherLines - 1), `… ${lines.length - otherLines + 1} more lines`];
}
