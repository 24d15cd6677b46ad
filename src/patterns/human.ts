/** human(): a person as a team member; each turn is a durable wait for the signal `human:<name>`. */

import { BatonError, ConfigError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { lazySchema } from '../core/load-zod.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable, type Workflow } from '../core/runnable.js';
import { checkRunnable, textOf } from './shared.js';

/** Options of `human()`. */
export interface HumanOptions {
  /** The member's name; the answer arrives as the signal `human:<name>`. */
  name: string;
  /** Who this is and what they decide; shown to LLM selectors and supervisors. Default: the name. */
  description?: string;
  /** The question shown to the person: a string, or a pure function of the turn's input. */
  prompt?: string | ((input: unknown) => string);
  /** How long to wait for the answer (durable: survives restarts). Default: forever. */
  timeoutMs?: number;
  /**
   * What happens when `timeoutMs` passes: a fixed answer, or an agent/workflow/pattern run with
   * the same input (a child run). Without it the turn fails with `WAIT_TIMEOUT`.
   */
  fallback?: string | AnyRunnable;
  version?: string;
}

/**
 * What a human member asks, journaled as the step `ask:<name>` and emitted once as the custom
 * event `human-input-requested` when the question is first posed (the name magentic uses too).
 */
export interface HumanRequest {
  /** The human member's name. */
  member: string;
  description: string;
  /** The signal that answers: `human:<name>`. */
  signal: string;
  /** The question, when `prompt` is set. */
  prompt?: string;
  /** The turn's input as text (a request from an agent, a chat transcript, ...). */
  input: string;
  timeoutMs?: number;
}

/**
 * What the signal `human:<name>` must carry: the answer as a string or `{ text: string }`. The
 * wait declares it, so `runtime.signal` refuses anything else before storing it. Built on first
 * use, so importing the package does not load zod.
 *
 * @example
 * ```ts
 * humanAnswerSchema().safeParse({ text: 'APPROVED' }).success; // true
 * ```
 */
export const humanAnswerSchema = lazySchema((z) => z.union([z.string(), z.object({ text: z.string() })]));

/** A human member: a workflow whose output is the person's answer as text. */
export interface Human extends Workflow<unknown, string> {
  readonly human: true;
  readonly description: string;
  /** The signal name that carries the answer: `human:<name>`. */
  readonly signal: string;
}

const humanOptionNames = optionNames<HumanOptions>(
  { name: true, description: true, prompt: true, timeoutMs: true, fallback: true, version: true },
  { timeout: 'timeoutMs' },
);

/**
 * A person as a member of any pattern, or as a tool (`runnableTool(person, { description })`).
 * Each turn journals the request, emits `human-input-requested`, and waits durably for the signal
 * `human:<name>` whose payload is the answer: a string or `{ text: string }`. Several turns of
 * the same person consume signals in the order they were sent.
 *
 * @example
 * ```ts
 * const editor = human({ name: 'editor', description: 'Approves publication', timeoutMs: 86_400_000, fallback: 'REJECTED: no answer' });
 * const chat = groupChat({ name: 'publish', members: [writer, editor], terminate: approvedBy('editor') });
 * const handle = await runtime.start(chat, 'Draft the launch post');
 * // later, from anywhere:
 * await runtime.signal(handle.runId, 'human:editor', { text: 'APPROVED' });
 * ```
 */
export function human(options: HumanOptions): Human {
  assertName('human', options?.name);
  checkOptionNames(`human("${options.name}")`, options, humanOptionNames);
  const name = options.name;
  const where = `human("${name}")`;
  if (options.description !== undefined && typeof options.description !== 'string')
    throw new ConfigError(`${where}: description must be a string.`);
  if (
    options.prompt !== undefined &&
    typeof options.prompt !== 'string' &&
    typeof options.prompt !== 'function'
  )
    throw new ConfigError(`${where}: prompt must be a string or a function (input) => string.`);
  const timeoutMs = options.timeoutMs;
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)
  )
    throw new ConfigError(
      `${where}: timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}.`,
    );
  const fallback = options.fallback;
  if (fallback !== undefined && typeof fallback !== 'string')
    checkRunnable(where, 'fallback (a string answer or an agent, workflow or pattern)', fallback);
  if (fallback !== undefined && timeoutMs === undefined)
    throw new ConfigError(`${where}: fallback needs timeoutMs (without a timeout the wait never ends).`);
  const signal = `human:${name}`;
  const description = options.description ?? name;

  const definition: Human = {
    kind: 'workflow',
    human: true,
    name,
    version: options.version ?? '1',
    description,
    signal,
    async execute(ctx: RunContext, input: unknown): Promise<string> {
      await ctx.step(
        `ask:${name}`,
        () => {
          const request: HumanRequest = { member: name, description, signal, input: textOf(input) };
          const prompt = typeof options.prompt === 'function' ? options.prompt(input) : options.prompt;
          if (prompt !== undefined) request.prompt = prompt;
          if (timeoutMs !== undefined) request.timeoutMs = timeoutMs;
          // Inside the step: emitted once, when the question is first asked, never on replay.
          ctx.emit({ name: 'human-input-requested', data: request });
          return request;
        },
        { meta: { human: name } },
      );
      let payload: unknown;
      try {
        payload = await ctx.waitFor(
          signal,
          timeoutMs === undefined
            ? { schema: humanAnswerSchema() }
            : { timeoutMs, schema: humanAnswerSchema() },
        );
      } catch (error) {
        if (isInterruption(error, ctx)) throw error;
        if (!(BatonError.isInstance(error) && error.code === 'WAIT_TIMEOUT')) throw error;
        if (fallback === undefined) {
          error.message = `${where} did not answer within ${timeoutMs} ms (no "${signal}" signal) and has no fallback.`;
          throw error;
        }
        if (ctx.observed)
          ctx.emit({
            name: 'human-timeout',
            data: { member: name, fallback: typeof fallback === 'string' ? 'answer' : fallback.name },
          });
        if (typeof fallback === 'string') return fallback;
        return textOf(await ctx.run(fallback as Runnable<unknown, unknown>, input));
      }
      return answerOf(where, signal, payload, ctx.runId);
    },
  };
  return definition;
}

/**
 * True when `value` is a member made by `human()`.
 *
 * @example
 * ```ts
 * const people = members.filter(isHuman).map((member) => member.signal); // ['human:editor']
 * ```
 */
export function isHuman(value: unknown): value is Human {
  return typeof value === 'object' && value !== null && (value as Human).human === true;
}

function answerOf(where: string, signal: string, payload: unknown, runId: string): string {
  if (typeof payload === 'string') return payload;
  if (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { text?: unknown }).text === 'string'
  )
    return (payload as { text: string }).text;
  throw new BatonError(
    `${where}: the "${signal}" signal must carry a string or { text: string }, got ${describePayload(payload)}. ` +
      `Send it as runtime.signal(runId, '${signal}', 'your answer').`,
    { code: 'INVALID_SIGNAL_PAYLOAD', fault: 'user', runId },
  );
}

function describePayload(payload: unknown): string {
  if (payload === null || payload === undefined) return 'no payload';
  const text = textOf(payload);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
