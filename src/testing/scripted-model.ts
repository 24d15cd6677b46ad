/** A `LanguageModelV3` that plays back scripted turns, so agents can be tested offline and deterministically. */

import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';
import {
  approximateTokens,
  argumentsText,
  sleep,
  splitArguments,
  splitIntoDeltas,
} from './playback-helpers.js';
import { assertProviderPrompt } from './prompt-shape.js';

/**
 * One tool call in a scripted turn.
 *
 * @example
 * ```ts
 * const call: ScriptedToolCall = { tool: 'lookupOrder', input: { orderId: 'A-1001' } };
 * ```
 */
export interface ScriptedToolCall {
  /** Name of the tool to call. */
  tool: string;
  /**
   * The tool's arguments. Anything but a string is JSON-encoded; a string is passed on
   * verbatim as the raw argument text, so you can script malformed arguments.
   */
  input: unknown;
  /** Tool call id; defaults to `call_<agent>_<n>` (or `call_<n>` without an agent), counting from 1. */
  id?: string;
}

/**
 * What the model answers on one call. An empty turn answers with empty text.
 *
 * @example
 * ```ts
 * const turns: ScriptedTurn[] = [
 *   { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1001' } }] },
 *   { text: 'Refund issued.', usage: { inputTokens: 120, outputTokens: 4 } },
 *   { error: 'provider overloaded', delayMs: 50 },
 * ];
 * ```
 */
export interface ScriptedTurn {
  /** Assistant text. Streamed in word-sized deltas by `doStream`. */
  text?: string;
  /** Tool calls to make; the finish reason becomes `tool-calls` when there are any. */
  toolCalls?: ScriptedToolCall[];
  /** Reported usage; defaults to about one token per four characters of prompt and answer. */
  usage?: { inputTokens: number; outputTokens: number };
  /** Wait this long before answering (abortable through the call's `abortSignal`). */
  delayMs?: number;
  /** Make the call fail: a string becomes an `Error` with that message, an `Error` is thrown as is. */
  error?: string | Error;
}

/**
 * What a function script receives for each call.
 *
 * @example
 * ```ts
 * const script = ({ agent, turn, tools }: ScriptedRequest): ScriptedTurn =>
 *   turn === 0 && tools.length > 0 ? { toolCalls: [{ tool: tools[0]!.name, input: {} }] } : { text: `${agent} done` };
 * ```
 */
export interface ScriptedRequest {
  /** The prompt the caller sent, in the AI SDK's provider format. */
  prompt: LanguageModelV3Prompt;
  /** The tools offered on this call (empty when none). */
  tools: NonNullable<LanguageModelV3CallOptions['tools']>;
  /** The calling agent, from `providerOptions.baton.agent`; undefined outside Baton's agent loop. */
  agent?: string;
  /**
   * The agent's turn number in the run, 0 on its first call: from `providerOptions.baton.turn`
   * (the same on every replay, so a resumed run continues at the right turn), or outside
   * Baton's agent loop this model's own count of calls by that caller.
   */
  turn: number;
  /** The full call options, for anything the fields above do not cover. */
  options: LanguageModelV3CallOptions;
}

/**
 * What a scripted model plays: turns in order whoever calls, turns per agent name, or a
 * function that decides each turn.
 *
 * @example
 * ```ts
 * const inOrder: ModelScript = [{ text: 'hello' }];
 * const perAgent: ModelScript = { triage: [{ text: 'to billing' }], billing: [{ text: 'refunded' }] };
 * const computed: ModelScript = ({ turn }) => ({ text: `turn ${turn}` });
 * ```
 */
export type ModelScript =
  | readonly ScriptedTurn[]
  | Readonly<Record<string, readonly ScriptedTurn[]>>
  | ((request: ScriptedRequest) => ScriptedTurn | Promise<ScriptedTurn>);

/**
 * Options for {@link scriptedModel}.
 *
 * @example
 * ```ts
 * const options: ScriptedModelOptions = { modelId: 'gpt-demo', chunkDelayMs: 30 };
 * ```
 */
export interface ScriptedModelOptions {
  /** The model id the model reports; defaults to `'scripted'`. */
  modelId?: string;
  /** Pause between streamed deltas, so demos look live; defaults to 0. */
  chunkDelayMs?: number;
}

/**
 * A scripted `LanguageModelV3` that also records every call it received.
 *
 * @example
 * ```ts
 * const model = scriptedModel([{ text: 'hi' }]);
 * await generateText({ model, prompt: 'hello' });
 * expect(model.calls[0]?.prompt).toHaveLength(1);
 * ```
 */
export interface ScriptedModel extends LanguageModelV3 {
  /** The call options of every `doGenerate` and `doStream` call, in order. */
  readonly calls: readonly LanguageModelV3CallOptions[];
}

/**
 * Creates a model that answers from a script instead of a provider. Works with `generateText`,
 * `streamText` and Baton agents. With a script keyed by agent name, the calling agent is read
 * from `providerOptions.baton.agent`, which Baton's agent loop sets on every model call.
 *
 * @example
 * ```ts
 * const model = scriptedModel({
 *   triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
 *   billing: [{ toolCalls: [{ tool: 'refund', input: { orderId: 'A-1001' } }] }, { text: 'Refunded.' }],
 * });
 * ```
 */
export function scriptedModel(script: ModelScript, options: ScriptedModelOptions = {}): ScriptedModel {
  const modelId = options.modelId ?? 'scripted';
  const chunkDelayMs = options.chunkDelayMs ?? 0;
  const calls: LanguageModelV3CallOptions[] = [];
  const turnsTaken = new Map<string | undefined, number>();
  const toolCallsMade = new Map<string | undefined, number>();
  let callCount = 0;

  const nextTurn = async (callOptions: LanguageModelV3CallOptions): Promise<PlannedTurn> => {
    calls.push(callOptions);
    // Refuse what a real provider cannot take (string content, UIMessages), so tests fail where production would.
    assertProviderPrompt(callOptions.prompt);
    callCount += 1;
    const agent = agentOf(callOptions);
    // Baton's agent loop numbers each agent's turns in the run, the same on every replay, so a
    // resumed run gets the right turn; other callers get this model's own count.
    const counted = turnsTaken.get(agent) ?? 0;
    turnsTaken.set(agent, counted + 1);
    const turn = batonTurnOf(callOptions) ?? counted;
    const scripted = await pickTurn(script, { agent, turn, callNumber: callCount, callOptions });
    if (scripted.delayMs !== undefined && scripted.delayMs > 0) {
      await sleep(scripted.delayMs, callOptions.abortSignal);
    }
    callOptions.abortSignal?.throwIfAborted();
    if (scripted.error !== undefined) {
      throw typeof scripted.error === 'string' ? new Error(scripted.error) : scripted.error;
    }
    const toolCalls = (scripted.toolCalls ?? []).map((call) => {
      const made = (toolCallsMade.get(agent) ?? 0) + 1;
      toolCallsMade.set(agent, made);
      return {
        toolCallId: call.id ?? (agent === undefined ? `call_${made}` : `call_${agent}_${made}`),
        toolName: call.tool,
        input: argumentsText(call.input),
      };
    });
    const text = scripted.text ?? '';
    const outputCharacters =
      text.length + toolCalls.reduce((sum, call) => sum + call.toolName.length + call.input.length, 0);
    const usage = scripted.usage ?? {
      inputTokens: approximateTokens(promptCharacters(callOptions.prompt)),
      outputTokens: approximateTokens(outputCharacters),
    };
    const finish = toolCalls.length > 0 ? 'tool-calls' : 'stop';
    return {
      responseId: `scripted-${callCount}`,
      text,
      toolCalls,
      usage: toUsage(usage.inputTokens, usage.outputTokens),
      finishReason: { unified: finish, raw: finish },
    };
  };

  return {
    specificationVersion: 'v3',
    provider: 'scripted',
    modelId,
    supportedUrls: {},
    calls,
    async doGenerate(callOptions) {
      const planned = await nextTurn(callOptions);
      const content: LanguageModelV3Content[] = [];
      if (planned.text !== '') content.push({ type: 'text', text: planned.text });
      for (const call of planned.toolCalls) content.push({ type: 'tool-call', ...call });
      return {
        content,
        finishReason: planned.finishReason,
        usage: planned.usage,
        response: { id: planned.responseId, modelId },
        warnings: [],
      };
    },
    async doStream(callOptions) {
      const planned = await nextTurn(callOptions);
      const signal = callOptions.abortSignal;
      const parts = streamParts(planned, modelId);
      let cancelled = false;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          try {
            let deltaSent = false;
            for (const part of parts) {
              const isDelta = part.type === 'text-delta' || part.type === 'tool-input-delta';
              if (isDelta && deltaSent && chunkDelayMs > 0) await sleep(chunkDelayMs, signal);
              signal?.throwIfAborted();
              if (cancelled) return;
              controller.enqueue(part);
              if (isDelta) deltaSent = true;
            }
            controller.close();
          } catch (error) {
            if (!cancelled) controller.error(error);
          }
        },
        cancel() {
          cancelled = true;
        },
      });
      return { stream };
    },
  };
}

interface PlannedTurn {
  responseId: string;
  text: string;
  toolCalls: Array<{ toolCallId: string; toolName: string; input: string }>;
  usage: LanguageModelV3Usage;
  finishReason: LanguageModelV3FinishReason;
}

function batonTurnOf(callOptions: LanguageModelV3CallOptions): number | undefined {
  const turn = callOptions.providerOptions?.baton?.turn;
  return typeof turn === 'number' ? turn : undefined;
}

function agentOf(callOptions: LanguageModelV3CallOptions): string | undefined {
  const agent = callOptions.providerOptions?.baton?.agent;
  return typeof agent === 'string' ? agent : undefined;
}

async function pickTurn(
  script: ModelScript,
  call: {
    agent: string | undefined;
    turn: number;
    callNumber: number;
    callOptions: LanguageModelV3CallOptions;
  },
): Promise<ScriptedTurn> {
  const { agent, turn, callNumber, callOptions } = call;
  const caller = agent === undefined ? 'a caller without an agent name' : `agent "${agent}"`;
  if (typeof script === 'function') {
    const request: ScriptedRequest = {
      prompt: callOptions.prompt,
      tools: callOptions.tools ?? [],
      turn,
      options: callOptions,
    };
    if (agent !== undefined) request.agent = agent;
    return script(request);
  }
  if (isTurnList(script)) {
    const scripted = script[callNumber - 1];
    if (scripted === undefined) {
      throw new ConfigError(
        `Scripted model has no turn left: call ${callNumber} (from ${caller}) but the script has ${script.length} turn(s). ` +
          'Add a turn to the script, or check why the agent called the model again.',
        { code: 'SCRIPT_EXHAUSTED' },
      );
    }
    return scripted;
  }
  const known = Object.keys(script);
  if (agent === undefined) {
    throw new ConfigError(
      `Scripted model got a call without an agent name, but its script is keyed by agent (${known.join(', ')}). ` +
        'Pass providerOptions: { baton: { agent } } on the call, or use an array script.',
      { code: 'SCRIPT_NO_AGENT' },
    );
  }
  const turns = Object.hasOwn(script, agent) ? script[agent] : undefined;
  if (turns === undefined) {
    throw new ConfigError(
      `Scripted model has no script for agent "${agent}" (turn ${turn + 1}); scripted agents: ${known.join(', ') || 'none'}.`,
      { code: 'SCRIPT_EXHAUSTED' },
    );
  }
  const scripted = turns[turn];
  if (scripted === undefined) {
    throw new ConfigError(
      `Scripted model has no turn ${turn + 1} for agent "${agent}": its script has ${turns.length} turn(s). ` +
        'Add a turn for this agent, or check why it called the model again.',
      { code: 'SCRIPT_EXHAUSTED' },
    );
  }
  return scripted;
}

function isTurnList(script: ModelScript): script is readonly ScriptedTurn[] {
  return Array.isArray(script);
}

function streamParts(planned: PlannedTurn, modelId: string): LanguageModelV3StreamPart[] {
  const parts: LanguageModelV3StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: planned.responseId, modelId },
  ];
  const deltas = splitIntoDeltas(planned.text);
  if (deltas.length > 0) {
    parts.push({ type: 'text-start', id: 'text-0' });
    for (const delta of deltas) parts.push({ type: 'text-delta', id: 'text-0', delta });
    parts.push({ type: 'text-end', id: 'text-0' });
  }
  for (const call of planned.toolCalls) {
    parts.push({ type: 'tool-input-start', id: call.toolCallId, toolName: call.toolName });
    for (const fragment of splitArguments(call.input)) {
      parts.push({ type: 'tool-input-delta', id: call.toolCallId, delta: fragment });
    }
    parts.push({ type: 'tool-input-end', id: call.toolCallId });
    parts.push({ type: 'tool-call', ...call });
  }
  parts.push({ type: 'finish', usage: planned.usage, finishReason: planned.finishReason });
  return parts;
}

function toUsage(inputTokens: number, outputTokens: number): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
  };
}

function promptCharacters(prompt: LanguageModelV3Prompt): number {
  let characters = 0;
  for (const message of prompt) {
    if (message.role === 'system') {
      characters += message.content.length;
      continue;
    }
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
        case 'reasoning':
          characters += part.text.length;
          break;
        case 'tool-call':
          characters += part.toolName.length + argumentsText(part.input).length;
          break;
        case 'tool-result':
          characters += toolOutputCharacters(part.output);
          break;
        default:
          break;
      }
    }
  }
  return characters;
}

function toolOutputCharacters(output: LanguageModelV3ToolResultOutput): number {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return output.value.length;
    case 'execution-denied':
      return output.reason?.length ?? 0;
    default:
      return JSON.stringify(output.value).length;
  }
}
