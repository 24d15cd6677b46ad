/** handoff(): triage and transfer of control between agents, with input filters, a loop guard (stop, warn or escalate) and a fallback agent. */

import type { Agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import { type InputFilter, type Transfer, transfer } from '../agents/handoff.js';
import type { AgentRunResult, RunAgentOptions } from '../agents/run-agent.js';
import { type AgentInput, userMessage } from '../context/messages.js';
import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import {
  announceLoop,
  checkLoopResponse,
  type LoopResponse,
  waitForLoopDecision,
} from '../governance/loop-detection.js';
import { announceEnd, announceStart, checkCount } from './shared.js';

/** Options of `handoff()`. */
export interface HandoffOptions {
  name: string;
  version?: string;
  /** The agent that receives the input (triage). */
  entry: Agent<unknown>;
  /** Specialists the entry agent can transfer to. */
  agents: readonly Agent<unknown>[];
  /** Let specialists hand back to the entry agent. Default false. */
  allowReturn?: boolean;
  /** Filter applied to the conversation on every transfer this pattern adds (the fallback transfer too). */
  inputFilter?: InputFilter;
  /** Transfers allowed in one run; one more trips the guard (`HANDOFF_LIMIT`). Default 8. */
  maxHandoffs?: number;
  /**
   * The loop guard trips when the same cycle of agents holds control this many times in a row
   * (`triage, billing, triage, billing` is the cycle triage -> billing twice): `HANDOFF_LOOP`.
   * Default 2; `0` turns the loop guard off (`maxHandoffs` still applies).
   */
  loopCycles?: number;
  /**
   * What the loop guard does when it trips (every trip also emits `loop-detected`):
   * - `stop` (default): control goes to `fallback` if set, else the run fails with `HANDOFF_LOOP`.
   * - `warn`: the transfer happens, and the agent receiving control gets a user message saying the
   *   conversation is going around in a cycle (named) and that it should resolve it or answer.
   *   The guard then counts afresh from that agent; if it trips again, it behaves as `stop`.
   * - `escalate`: the run waits durably (journaled; survives restarts) for the signal
   *   `loop:<name>` with a `LoopEscalationReply`. `continue` lets the transfer happen (a
   *   `message` goes to the receiving agent as a user message) and the guard counts afresh;
   *   `stop` behaves as `stop`.
   *
   * `maxHandoffs` (`HANDOFF_LIMIT`) always behaves as `stop`.
   */
  loopResponse?: LoopResponse;
  /**
   * Takes over, once, when a guard trips (`HANDOFF_LOOP` or `HANDOFF_LIMIT`): control goes to
   * this agent with the conversation instead of the run failing. If a guard trips again after
   * that, the run fails.
   */
  fallback?: Agent<unknown>;
}

const handoffOptionNames = optionNames<HandoffOptions>(
  {
    name: true,
    version: true,
    entry: true,
    agents: true,
    allowReturn: true,
    inputFilter: true,
    maxHandoffs: true,
    loopCycles: true,
    loopResponse: true,
    fallback: true,
  },
  { start: 'entry', members: 'agents' },
);

/**
 * A team where the entry agent routes the conversation to a specialist by calling
 * `transfer_to_<agent>`. The run's output is the answer of the agent that finishes.
 * A loop guard stops agents passing the conversation around in a cycle (and `maxHandoffs`
 * bounds the transfers); with a `fallback` agent, control goes there instead of failing.
 * With `loopResponse`, the guard can warn the agent receiving control, or ask a human on the
 * signal `loop:<name>`, instead of stopping.
 *
 * @example
 * ```ts
 * const support = handoff({
 *   name: 'support', entry: triage, agents: [billing, technical], allowReturn: true,
 *   fallback: humanDesk, // takes over if triage and billing bounce the customer back and forth
 * });
 * const handle = await runtime.start(support, 'My card was charged twice');
 *
 * // Ask a person instead: the run suspends until someone answers on `loop:support-escalating`.
 * const escalating = handoff({ name: 'support-escalating', entry: triage, agents: [billing], allowReturn: true, loopResponse: 'escalate' });
 * await runtime.signal(runId, 'loop:support-escalating', { action: 'continue', message: 'Billing: refund it.' });
 * ```
 */
export function handoff<OUTPUT = string>(options: HandoffOptions): Runnable<AgentInput, OUTPUT> {
  assertName('pattern', options?.name);
  checkOptionNames(`handoff("${options.name}")`, options, handoffOptionNames);
  const where = `handoff("${options.name}")`;
  if (options.entry?.kind !== 'agent') throw new ConfigError(`${where}: entry must be an agent.`);
  if (!Array.isArray(options.agents) || options.agents.length === 0)
    throw new ConfigError(`${where}: agents must be a non-empty array of agents.`);
  for (const [index, member] of options.agents.entries()) {
    if (member?.kind !== 'agent') throw new ConfigError(`${where}: agents[${index}] is not an agent.`);
  }
  if (options.fallback !== undefined && options.fallback?.kind !== 'agent')
    throw new ConfigError(`${where}: fallback must be an agent (it takes over when the loop guard trips).`);
  const maxHandoffs = checkCount(where, 'maxHandoffs', options.maxHandoffs, 8);
  const loopCycles = checkCount(where, 'loopCycles', options.loopCycles, 2, 0);
  if (loopCycles === 1)
    throw new ConfigError(
      `${where}: loopCycles must be 0 (guard off) or at least 2 (a cycle seen once is not a loop), got 1.`,
    );
  const loopResponse = checkLoopResponse(options.loopResponse, where, 'loopResponse', 'stop');
  const filter = options.inputFilter === undefined ? {} : { inputFilter: options.inputFilter };
  const fromEntry: Transfer[] = options.agents.map((member) => transfer(member, filter));
  const backToEntry: Transfer[] = options.allowReturn === true ? [transfer(options.entry, filter)] : [];
  const toFallback = options.fallback === undefined ? undefined : transfer(options.fallback, filter);
  const extraHandoffs = (current: Agent<unknown>): readonly Transfer[] =>
    current === options.entry ? fromEntry : options.agents.includes(current) ? backToEntry : [];
  /** The transfer `from` called to reach `to` (its own first, as the agent loop offers them), for its input filter. */
  const requestedTransfer = (from: Agent<unknown>, to: Agent<unknown>): Transfer =>
    [...from.handoffs(), ...extraHandoffs(from)].find((edge) => edge.agent === to) ?? transfer(to, filter);
  const members = [options.entry.name, ...options.agents.map((member) => member.name)];
  if (options.fallback !== undefined) members.push(options.fallback.name);
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
      announceStart(ctx, 'handoff', options.name, members);
      // Per execution, rebuilt in order on every replay: onHandoff sees the same handoffs each time.
      const holders: string[] = [options.entry.name];
      /** Where the loop guard starts looking: after a warning or a human's "continue", it counts afresh. */
      let since = 0;
      let count = 0;
      let fellBack = false;
      let warned = false;
      const trip = (
        from: Agent<unknown>,
        code: 'HANDOFF_LOOP' | 'HANDOFF_LIMIT',
        message: string,
        cycle: readonly string[] | undefined,
      ): Transfer => {
        const reason = code === 'HANDOFF_LOOP' ? 'loop' : 'limit';
        if (toFallback !== undefined && !fellBack) {
          fellBack = true;
          decide(
            ctx,
            options.name,
            `fallback after handoff ${reason}`,
            message,
            cycle,
            toFallback.agent.name,
          );
          return toFallback;
        }
        decide(ctx, options.name, `handoff ${reason}`, message, cycle, undefined);
        throw new ModelBehaviorError(message, { agent: from.name, code, runId: ctx.runId });
      };
      const loopMessage = (path: string, to: Agent<unknown>, again: boolean): string =>
        `${where}: the agents are handing the conversation around in a loop: ${path}, ${loopCycles} times in a row (${[...holders, to.name].join(' -> ')})` +
        (again ? ', again after a loop warning.' : '.') +
        (fellBack
          ? ''
          : ' Tighten their instructions, or set fallback to let an agent take over instead of failing.');
      const onLoop = (
        from: Agent<unknown>,
        to: Agent<unknown>,
        cycle: readonly string[],
      ): Transfer | Promise<Transfer> => {
        const path = [...cycle, cycle[0]].join(' -> ');
        const response: LoopResponse = loopResponse === 'warn' && warned ? 'stop' : loopResponse;
        const message = loopMessage(path, to, response !== loopResponse);
        announceLoop(
          ctx,
          from.name,
          { repeated: `the handoff cycle ${path}`, count: cycleRepeats([...holders, to.name], cycle) },
          response,
        );
        if (response === 'stop') return trip(from, 'HANDOFF_LOOP', message, cycle);
        const requested = requestedTransfer(from, to);
        if (response === 'warn') {
          warned = true;
          since = holders.length;
          decide(ctx, options.name, 'handoff loop warning', message, cycle, undefined);
          return withNote(requested, loopWarning(options.name, path, loopCycles));
        }
        decide(ctx, options.name, 'handoff loop escalated', message, cycle, undefined);
        return escalate(from, requested, message, cycle);
      };
      /** Waits durably for a human on `loop:<name>`: `continue` lets the transfer go (with the human's note), anything else stops. */
      const escalate = async (
        from: Agent<unknown>,
        requested: Transfer,
        message: string,
        cycle: readonly string[],
      ): Promise<Transfer> => {
        const reply = await waitForLoopDecision(ctx, `loop:${options.name}`);
        if (reply.action !== 'continue') return trip(from, 'HANDOFF_LOOP', message, cycle);
        since = holders.length;
        decide(ctx, options.name, 'handoff loop continued by a human', message, cycle, undefined);
        return reply.message === undefined ? requested : withNote(requested, reply.message);
      };
      const runOptions: RunAgentOptions = {
        extraHandoffs,
        onHandoff: (from, to) => {
          count++;
          let redirect: Transfer | Promise<Transfer> | undefined;
          if (count > maxHandoffs) {
            redirect = trip(
              from,
              'HANDOFF_LIMIT',
              `${where}: more than ${maxHandoffs} handoffs in one run (last ${from.name} -> ${to.name}); the agents are passing the conversation back and forth.` +
                (fellBack ? '' : ' Set fallback to let an agent take over instead of failing.'),
              undefined,
            );
          } else {
            const cycle = repeatedCycle([...holders.slice(since), to.name], loopCycles);
            if (cycle !== undefined) redirect = onLoop(from, to, cycle);
          }
          if (!(redirect instanceof Promise)) {
            holders.push(redirect?.agent.name ?? to.name);
            return redirect;
          }
          return redirect.then((chosen) => {
            holders.push(chosen.agent.name);
            return chosen;
          });
        },
      };
      let result: AgentRunResult<unknown>;
      try {
        result = await runAgent(ctx, options.entry, input, runOptions);
      } catch (error) {
        if (!isInterruption(error, ctx)) announceEnd(ctx, 'handoff', options.name, 'failed');
        throw error;
      }
      announceEnd(
        ctx,
        'handoff',
        options.name,
        fellBack ? `answered by fallback ${result.agent}` : 'answered',
      );
      return result.output as OUTPUT;
    },
  };
}

/** `edge` with `note` appended, as a user message, to the conversation the next agent sees. */
function withNote(edge: Transfer, note: string): Transfer {
  const inputFilter = edge.inputFilter;
  return {
    ...edge,
    inputFilter: (messages) => [...(inputFilter?.(messages) ?? messages), userMessage(note)],
  };
}

/** The warning the agent receiving control gets when the loop guard warns. */
function loopWarning(name: string, path: string, times: number): string {
  return (
    `Loop warning from "${name}": the conversation is going around in a cycle (${path}, ${times} times in a row). ` +
    'Handing it on along this cycle will not resolve it. Resolve the request yourself, or give your final answer.'
  );
}

/** How many times in a row `holders` ends with `cycle` (at least the loop guard's count when it trips). */
function cycleRepeats(holders: readonly string[], cycle: readonly string[]): number {
  let times = 0;
  for (let end = holders.length; end - cycle.length >= 0; end -= cycle.length) {
    const block = holders.slice(end - cycle.length, end);
    if (block.some((name, index) => name !== cycle[index])) break;
    times++;
  }
  return times;
}

/**
 * The cycle of agents the sequence ends with, repeated `times` times in a row, if any: the
 * shortest block of at least two agents such that the sequence ends with that block `times`
 * times. `[a, b, a, b]` with `times` 2 gives `[a, b]`; `[a, b, a, c]` gives undefined.
 */
function repeatedCycle(holders: readonly string[], times: number): string[] | undefined {
  if (times < 2) return undefined;
  for (let length = 2; length * times <= holders.length; length++) {
    const start = holders.length - length * times;
    let repeats = true;
    for (let index = start; index + length < holders.length && repeats; index++)
      repeats = holders[index] === holders[index + length];
    if (repeats) return holders.slice(holders.length - length);
  }
  return undefined;
}

/** Emits the guard's `pattern-decision` (deterministic: it follows the replayed handoffs). */
function decide(
  ctx: RunContext,
  name: string,
  decision: string,
  reason: string,
  cycle: readonly string[] | undefined,
  fallback: string | undefined,
): void {
  if (!ctx.observed) return;
  ctx.emitEvent({
    type: 'pattern-decision',
    scope: ctx.scope,
    pattern: 'handoff',
    name,
    decision,
    reasons: [reason],
    data: {
      ...(cycle === undefined ? {} : { cycle: [...cycle] }),
      ...(fallback === undefined ? {} : { fallback }),
    },
  });
}
