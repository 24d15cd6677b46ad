/** Phase 3 of a turn: validate and run the model's tool calls (each its own step, concurrently, results in order). */

import type { LanguageModelV3ToolResultOutput, LanguageModelV3ToolResultPart } from '@ai-sdk/provider';
import type { ZodType } from 'zod';
import type { Message, ParsedToolInput } from '../context/messages.js';
import { errorMessage } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import type { CustomEvent, RunContext, StepContext } from '../core/run-context.js';
import type { StepMeta } from '../core/store.js';
import { settleAll } from '../governance/approvals.js';
import type { ModelToolCall } from '../models/call-model.js';
import { errorClassOf, escalated } from '../models/resilience/escalation.js';
import { resilienceOf } from '../models/resilience/registry.js';
import { defineLazySignal } from '../models/resilience/run-resilient.js';
import { executeToolResilient, toolCallEmitter, toolStepMeta } from '../models/resilience/tool-call.js';
import type { ToolContext } from '../tools/tool.js';
import type { Agent, AnyTool } from './agent.js';
import { type AgentRun, type HookPipeline, scopedAgentRun, type ToolCallInfo } from './agent-hooks.js';
import type { Transfer } from './handoff.js';
import { stepName } from './model-step.js';

/** A handoff the model asked for. */
export interface HandoffRequest {
  transfer: Transfer;
  payload: unknown;
}

/**
 * Called before each valid tool call, in the model's order, on every execution and replay (so
 * it must be deterministic). Returning a string denies the call: the model gets that text as the
 * tool's error.
 */
export type BeforeToolCall = (agent: Agent<unknown>, tool: AnyTool, input: unknown) => string | undefined;

/** What a turn's tool calls produced. */
export interface ToolStepsResult {
  results: LanguageModelV3ToolResultPart[];
  handoff: HandoffRequest | undefined;
  /** Error messages of the calls that failed, for the bounded-retry check. */
  errors: string[];
}

/**
 * Runs one turn's tool calls. Calls start in the model's order, so their step keys are
 * deterministic. A turn of one call and no `afterTool` hooks (the usual turn) takes no async frame.
 */
export function toolSteps(
  ctx: RunContext,
  agent: Agent<unknown>,
  calls: readonly ModelToolCall[],
  inputs: readonly ParsedToolInput[],
  transfers: readonly Transfer[],
  tools: readonly AnyTool[] = agent.tools,
  beforeToolCall?: BeforeToolCall,
  messages?: readonly Message[],
  hooks?: HookPipeline,
  run?: AgentRun,
): Promise<ToolStepsResult> {
  let handoff: HandoffRequest | undefined;
  const errors: string[] = [];
  let pending: Array<Promise<LanguageModelV3ToolResultOutput> | LanguageModelV3ToolResultOutput>;
  try {
    pending = calls.map(
      (call, index): Promise<LanguageModelV3ToolResultOutput> | LanguageModelV3ToolResultOutput => {
        const target = transfers.find((candidate) => candidate.toolName === call.toolName);
        if (target !== undefined) {
          const parsed = validateInput(call.input, inputs[index], target.payloadSchema);
          if (!parsed.ok)
            return failure(errors, `Invalid handoff arguments for ${call.toolName}: ${parsed.error}`);
          if (handoff !== undefined)
            return failure(errors, `Ignored: control already goes to ${handoff.transfer.agent.name}.`);
          handoff = { transfer: target, payload: parsed.value };
          return { type: 'text', value: `Transferred to ${target.agent.name}.` };
        }
        const tool = tools.find((candidate) => candidate.name === call.toolName);
        if (tool === undefined) {
          const available = [
            ...tools.map((candidate) => candidate.name),
            ...transfers.map((candidate) => candidate.toolName),
          ];
          return failure(
            errors,
            `Unknown tool "${call.toolName}". Available tools: ${available.join(', ') || 'none'}.`,
          );
        }
        const authorizeTool = hooks?.authorizeTool;
        const authorizing =
          authorizeTool === undefined
            ? undefined
            : firstVeto(authorizeTool.length, (index) => authorizeTool[index]!(run as AgentRun, tool, call));
        if (authorizing === undefined)
          return checkAndRun(
            ctx,
            agent,
            tool,
            call,
            inputs[index],
            beforeToolCall,
            messages,
            hooks,
            run,
            errors,
          );
        if (typeof authorizing === 'string') return failure(errors, authorizing);
        return authorizing.then((reason) =>
          reason === undefined
            ? checkAndRun(ctx, agent, tool, call, inputs[index], beforeToolCall, messages, hooks, run, errors)
            : failure(errors, reason),
        );
      },
    );
  } catch (error) {
    return Promise.reject(error);
  }
  const only = pending.length === 1 ? pending[0] : undefined;
  if (only instanceof Promise && hooks?.afterTool === undefined)
    return only.then((output) => ({ results: resultParts(calls, [output]), handoff, errors }));
  return settleTurn(ctx, calls, pending, transfers, hooks, run).then((outputs) => ({
    results: resultParts(calls, outputs),
    handoff,
    errors,
  }));
}

/** Waits for a turn's tool calls, then runs the `afterTool` hooks on their outputs. */
async function settleTurn(
  ctx: RunContext,
  calls: readonly ModelToolCall[],
  pending: ReadonlyArray<Promise<LanguageModelV3ToolResultOutput> | LanguageModelV3ToolResultOutput>,
  transfers: readonly Transfer[],
  hooks: HookPipeline | undefined,
  run: AgentRun | undefined,
): Promise<LanguageModelV3ToolResultOutput[]> {
  // Settled first: a call suspending for approval must not leave the others' steps unrecorded.
  const outputs = pending.length === 1 ? [await pending[0]!] : await settleAll(pending);
  if (hooks?.afterTool !== undefined) {
    const ran = ctx.observed ? outputs.slice() : undefined;
    const guarding = after(hooks.afterTool, run as AgentRun, calls, outputs, transfers, 0, 0);
    if (guarding !== undefined) await guarding;
    // Results are announced as the hooks left them (a redacted output is seen redacted).
    if (ran !== undefined)
      ran.forEach((original, index) => {
        const announce = deferredResults.get(original);
        if (announce === undefined) return;
        deferredResults.delete(original);
        const output = outputs[index] as { value?: unknown };
        announce(output.value);
      });
  }
  return outputs;
}

/** The tool-result parts of a turn's outputs, in the calls' order. */
function resultParts(
  calls: readonly ModelToolCall[],
  outputs: readonly LanguageModelV3ToolResultOutput[],
): LanguageModelV3ToolResultPart[] {
  return outputs.map(
    (output, index): LanguageModelV3ToolResultPart => ({
      type: 'tool-result',
      toolCallId: calls[index]!.toolCallId,
      toolName: calls[index]!.toolName,
      output,
    }),
  );
}

/** Phase 3b of one call, once authorized: validate its arguments, let hooks veto or rewrite them, then run it. */
function checkAndRun(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  parsedJson: ParsedToolInput | undefined,
  beforeToolCall: BeforeToolCall | undefined,
  messages: readonly Message[] | undefined,
  hooks: HookPipeline | undefined,
  run: AgentRun | undefined,
  errors: string[],
): Promise<LanguageModelV3ToolResultOutput> | LanguageModelV3ToolResultOutput {
  const parsed = validateInput(call.input, parsedJson, tool.inputSchema);
  if (!parsed.ok)
    return failure(
      errors,
      `Invalid arguments for ${tool.name}: ${parsed.error}. Call it again with arguments matching its schema.`,
    );
  const denied = beforeToolCall?.(agent, tool, parsed.value);
  if (denied !== undefined) return failure(errors, denied);
  if (hooks === undefined || (hooks.beforeTool === undefined && hooks.wrapTool === undefined))
    return executeCall(
      ctx,
      agent,
      tool,
      call,
      parsed.value,
      false,
      messages,
      errors,
      hooks?.afterTool !== undefined,
    );
  const info: ToolCallInfo = { tool, toolCallId: call.toolCallId, input: parsed.value };
  const model = parsed.value;
  if (hooks.beforeTool === undefined)
    return wrapped(ctx, agent, call, info, model, messages, hooks, run, errors);
  let vetoed: string | undefined | Promise<string | undefined>;
  try {
    const beforeTool = hooks.beforeTool;
    vetoed = firstVeto(beforeTool.length, (index) => beforeTool[index]!(run as AgentRun, info));
  } catch (error) {
    // A hook that throws (a tripped guardrail) fails the run, after the calls already started settle.
    return Promise.reject(error);
  }
  if (vetoed instanceof Promise)
    return vetoed.then((reason) =>
      reason === undefined
        ? wrapped(ctx, agent, call, info, model, messages, hooks, run, errors)
        : failure(errors, reason),
    );
  return vetoed === undefined
    ? wrapped(ctx, agent, call, info, model, messages, hooks, run, errors)
    : failure(errors, vetoed);
}

/** Runs the call through the `wrapTool` hooks, if any; `model`: the arguments as the model gave them (hooks may have replaced `info.input`). */
function wrapped(
  ctx: RunContext,
  agent: Agent<unknown>,
  call: ModelToolCall,
  info: ToolCallInfo,
  model: unknown,
  messages: readonly Message[] | undefined,
  hooks: HookPipeline,
  run: AgentRun | undefined,
  errors: string[],
): Promise<LanguageModelV3ToolResultOutput> {
  const defer = hooks.afterTool !== undefined;
  if (hooks.wrapTool === undefined)
    return executeCall(
      ctx,
      agent,
      info.tool,
      call,
      info.input,
      info.input !== model,
      messages,
      errors,
      defer,
    );
  return wrap(hooks.wrapTool, run as AgentRun, info, (scoped) =>
    executeCall(scoped, agent, info.tool, call, info.input, info.input !== model, messages, errors, defer),
  );
}

/**
 * Runs the tool as its step; a failure becomes the model's tool error, unless it must stop the
 * run. One `then` on the step: an escalation (a failure of class `escalate`) and the tool's
 * events are handled in it, with no async frame held while the tool runs. `rewritten`: a hook
 * (a `tool-input` guardrail) replaced the model's arguments by `input`.
 */
function executeCall(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  input: unknown,
  rewritten: boolean,
  messages: readonly Message[] | undefined,
  errors: string[],
  deferResult: boolean,
): Promise<LanguageModelV3ToolResultOutput> {
  let running: Promise<unknown>;
  try {
    if (ctx.observed)
      ctx.emitEvent({
        type: 'tool-call',
        scope: ctx.scope,
        agent: agent.name,
        tool: tool.name,
        toolCallId: call.toolCallId,
        input,
      });
    running =
      tool.runnable !== undefined
        ? ctx.run(
            tool.runnable,
            (input as { input: string }).input,
            tool.distribute === true ? distributed : undefined,
          )
        : toolStep(ctx, agent, tool, call, input, rewritten, messages);
  } catch (error) {
    running = Promise.reject(error);
  }
  const ran = (output: unknown) => toolResult(ctx, agent, tool, call, output, deferResult);
  const failed = (error: unknown) => toolFailed(ctx, agent, tool, call, errors, error);
  return running.then(ran, (error: unknown) => {
    // As `withEscalation`, with the retrying closure made only once a call failed (not per call).
    if (tool.runnable !== undefined || errorClassOf(error) !== 'escalate' || isInterruption(error, ctx))
      return failed(error);
    return escalated(
      ctx,
      agent.name,
      tool.name,
      () => toolStep(ctx, agent, tool, call, input, rewritten, messages),
      error,
    ).then(ran, failed);
  });
}

/** A tool's output as the model gets it, announced to listeners (after the `afterTool` hooks when deferred). */
function toolResult(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  output: unknown,
  deferResult: boolean,
): LanguageModelV3ToolResultOutput {
  const result: LanguageModelV3ToolResultOutput =
    typeof output === 'string'
      ? { type: 'text', value: output }
      : { type: 'json', value: (output ?? null) as never };
  if (ctx.observed) {
    if (deferResult)
      deferredResults.set(result, (shown) => announceResult(ctx, agent, tool, call, { output: shown }));
    else announceResult(ctx, agent, tool, call, { output });
  }
  return result;
}

/** A tool call failed: announced, then rethrown when it must stop the run, else given to the model as its error. */
function toolFailed(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  errors: string[],
  error: unknown,
): LanguageModelV3ToolResultOutput {
  if (ctx.observed)
    announceResult(ctx, agent, tool, call, { error: String((error as Error)?.message ?? error) });
  if (isInterruption(error, ctx)) throw error;
  if (tool.runnable === undefined && errorClassOf(error) === 'fatal') throw error;
  return failure(errors, `Tool ${tool.name} failed: ${errorMessage(error)}`);
}

type Hooks<PHASE extends keyof HookPipeline> = NonNullable<HookPipeline[PHASE]>;

/**
 * Veto hooks (`authorizeTool`, `beforeTool`) in order, `ask(index)` calling the hook at `index`:
 * the first reason given, if any; no promise while none returns one.
 */
function firstVeto(
  count: number,
  ask: (index: number) => string | undefined | Promise<string | undefined>,
  from = 0,
): string | undefined | Promise<string | undefined> {
  for (let index = from; index < count; index++) {
    const returned = ask(index);
    if (returned instanceof Promise)
      return returned.then((reason) => reason ?? firstVeto(count, ask, index + 1));
    if (returned !== undefined) return returned;
  }
  return undefined;
}

/** `wrapTool` hooks, the first outermost, around the tool's own execution. */
function wrap(
  list: Hooks<'wrapTool'>,
  run: AgentRun,
  info: ToolCallInfo,
  execute: (ctx: RunContext) => Promise<LanguageModelV3ToolResultOutput>,
  from = 0,
): Promise<LanguageModelV3ToolResultOutput> {
  const hook = list[from];
  if (hook === undefined) return execute(run.ctx);
  if (from === list.length - 1) return hook(run, info, execute);
  return hook(run, info, (scoped) => wrap(list, scopedAgentRun(run, scoped), info, execute, from + 1));
}

/**
 * `afterTool` hooks on each non-handoff result, in the model's order (so journaled judges get
 * stable step keys), replacing `outputs[i]`. Synchronous while every hook answers at once.
 */
function after(
  list: Hooks<'afterTool'>,
  run: AgentRun,
  calls: readonly ModelToolCall[],
  outputs: LanguageModelV3ToolResultOutput[],
  transfers: readonly Transfer[],
  start: number,
  hookStart: number,
): Promise<void> | undefined {
  for (let index = start; index < outputs.length; index++) {
    const call = calls[index];
    if (call === undefined || transfers.some((edge) => edge.toolName === call.toolName)) continue;
    for (let hookIndex = index === start ? hookStart : 0; hookIndex < list.length; hookIndex++) {
      const returned = (list[hookIndex] as Hooks<'afterTool'>[number])(
        run,
        call,
        outputs[index] as LanguageModelV3ToolResultOutput,
      );
      if (returned instanceof Promise)
        return returned.then((replaced) => {
          if (replaced !== undefined) outputs[index] = replaced;
          return after(list, run, calls, outputs, transfers, index, hookIndex + 1);
        });
      if (returned !== undefined) outputs[index] = returned;
    }
  }
  return undefined;
}

/** Emits the `tool-result` event of one call (only called when someone listens). */
function announceResult(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  outcome: { output: unknown } | { error: string },
): void {
  ctx.emitEvent({
    type: 'tool-result',
    scope: ctx.scope,
    agent: agent.name,
    tool: tool.name,
    toolCallId: call.toolCallId,
    ...outcome,
  });
}

/**
 * Frozen `{ agent, tool }` objects by agent name, then tool name: a pure function of the names,
 * so no runtime's state is in here. Looked up by the two names as they are (their hashes are kept
 * with the strings), not by a key made per call. Bounded (cleared when full), so many tenants'
 * agents do not grow it forever.
 */
const toolMetas = new Map<string, Map<string, StepMeta>>();
let toolMetaCount = 0;
const maxToolMetas = 4096;

/** The display data of a tool step, one shared object per agent and tool (not one per call). */
function toolMeta(agent: string, tool: string): StepMeta {
  let byTool = toolMetas.get(agent);
  let meta = byTool?.get(tool);
  if (meta === undefined) {
    meta = Object.freeze({ agent, tool });
    if (toolMetaCount >= maxToolMetas) {
      toolMetas.clear();
      toolMetaCount = 0;
      byTool = undefined;
    }
    if (byTool === undefined) {
      byTool = new Map();
      toolMetas.set(agent, byTool);
    }
    byTool.set(tool, meta);
    toolMetaCount++;
  }
  return meta;
}

function failure(errors: string[], message: string): LanguageModelV3ToolResultOutput {
  errors.push(message);
  return { type: 'error-text', value: message };
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** Checks a call's already-parsed arguments (empty arguments count as `{}`) against a schema. */
function validateInput(
  raw: string,
  parsedJson: ParsedToolInput | undefined,
  schema: ZodType | undefined,
): Parsed {
  let value: unknown;
  if (raw.trim() === '') value = {};
  else if (parsedJson?.ok === true) value = parsedJson.value;
  else return { ok: false, error: parsedJson?.error ?? 'arguments are missing' };
  if (schema === undefined) return { ok: true, value };
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    error: result.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; '),
  };
}

const distributed = { distribute: true } as const;

/**
 * Results whose `tool-result` event waits for the agent's `afterTool` hooks (tool-output
 * guardrails), keyed by the output object the tool step returned; announced, then removed, by
 * `toolSteps` with the output the hooks left.
 */
const deferredResults = new WeakMap<LanguageModelV3ToolResultOutput, (output: unknown) => void>();

/**
 * The tool's step: its execution under the tool's resilience, with the attempts made in its meta,
 * and, when a hook (a `tool-input` guardrail) rewrote the model's arguments, the call's id and the
 * arguments it ran with as JSON (`toolCallId`, `input`): the model step keeps the model's own (a
 * replay needs them), so readers show these instead (`guardedJournal`).
 */
function toolStep(
  ctx: RunContext,
  agent: Agent<unknown>,
  tool: AnyTool,
  call: ModelToolCall,
  input: unknown,
  rewritten: boolean,
  messages: readonly Message[] | undefined,
): Promise<unknown> {
  let attempts = 1;
  const counted = (made: number) => {
    attempts = made;
  };
  const meta = (): StepMeta => {
    const base = toolStepMeta(toolMeta(agent.name, tool.name), attempts);
    return rewritten ? { ...base, toolCallId: call.toolCallId, input: JSON.stringify(input ?? null) } : base;
  };
  return ctx.step(
    stepName('tool:', tool.name),
    (step) => execute(tool, input, agent.name, call.toolCallId, step, ctx, counted, messages),
    { kind: 'tool', meta },
  );
}

/** The tool's call under its resilience (no async frame: the step's function may return at once). */
function execute(
  tool: AnyTool,
  input: unknown,
  agentName: string,
  toolCallId: string,
  step: StepContext,
  ctx: RunContext,
  onAttempts: (attempts: number) => void,
  messages: readonly Message[] | undefined,
): Promise<unknown> {
  const runId = step.runId;
  const emit = (event: CustomEvent) => ctx.emit(event);
  const idempotencyKey = step.idempotencyKey;
  const store = step.store;
  const threadId = step.threadId;
  // Timeout, retries, breaker and bulkhead (src/models/resilience). `signal` aborts on timeout or
  // cancellation; it is a lazy own property, so AbortControllers are only made if the tool reads it.
  return executeToolResilient(
    resilienceOf(ctx),
    tool,
    agentName,
    step,
    (source) =>
      tool.execute(
        input,
        defineLazySignal(
          {
            runId,
            agent: agentName,
            toolCallId,
            idempotencyKey,
            store,
            threadId,
            emit,
            messages,
          } as ToolContext,
          'signal',
          source,
        ),
      ),
    toolCallEmitter(ctx),
    onAttempts,
  );
}
