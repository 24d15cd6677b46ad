/** One model call through the AI SDK spec methods, normalized to a JSON response with usage. */

import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { BatonError, errorMessage, ModelCallError } from '../core/errors.js';
import type { Usage } from '../core/store.js';
import { classifyError, isAiSdkError } from './resilience/classify.js';
import { modelName } from './resolve-model.js';

/** A tool call as the model asked for it; `input` is the raw JSON text. */
export interface ModelToolCall {
  toolCallId: string;
  toolName: string;
  input: string;
}

/** What a model call records in the journal. */
export interface ModelResponse {
  text: string;
  toolCalls: ModelToolCall[];
  finishReason: string;
  usage: Usage;
  cachedInputTokens: number;
  /** `provider:model` that answered. */
  model: string;
  /** Attempts made across retries and fallbacks, when more than one. */
  attempts?: number;
  /** Models of the agent's chain that failed before `model` answered. */
  fallbackFrom?: string[];
}

/** Called with each piece of text as it streams. */
export type DeltaListener = (text: string) => void;

/**
 * Calls a model once: `doStream` when `onDelta` is given (text arrives live), else `doGenerate`.
 * Provider failures become `ModelCallError`s (fault `provider`) with the HTTP status; a stream's
 * `error` part becomes one with code `MODEL_STREAM_ERROR`.
 *
 * @example
 * ```ts
 * const response = await callModel(model, { prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
 * console.log(response.text, response.usage.totalTokens);
 * ```
 */
export function callModel(
  model: LanguageModelV3,
  options: LanguageModelV3CallOptions,
  onDelta?: DeltaListener,
): Promise<ModelResponse> {
  if (onDelta !== undefined) return streamModel(model, options, onDelta);
  // No async frame around the call (one would be held for as long as the model takes).
  const name = modelName(model);
  let generating: PromiseLike<LanguageModelV3GenerateResult>;
  try {
    generating = model.doGenerate(options);
  } catch (error) {
    return Promise.reject(asModelError(name, error, options.abortSignal));
  }
  return Promise.resolve(generating).then(
    (result) => {
      try {
        return generatedResponse(name, result);
      } catch (error) {
        // A result not shaped as the spec says is the provider's failure too.
        throw asModelError(name, error, options.abortSignal);
      }
    },
    (error: unknown) => {
      throw asModelError(name, error, options.abortSignal);
    },
  );
}

/**
 * The response of a `doGenerate` call to model `name`.
 *
 * @example
 * ```ts
 * const response = generatedResponse('openai:gpt-4o', await model.doGenerate(options));
 * ```
 */
export function generatedResponse(name: string, result: LanguageModelV3GenerateResult): ModelResponse {
  let text = '';
  // The first call starts a list of one: a push onto `[]` leaves room for 16, kept with the
  // response in the journal for the life of the run (most responses ask for one call).
  let toolCalls: ModelToolCall[] | undefined;
  for (const part of result.content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'tool-call' && part.providerExecuted !== true) {
      const call = { toolCallId: part.toolCallId, toolName: part.toolName, input: part.input };
      if (toolCalls === undefined) toolCalls = [call];
      else toolCalls.push(call);
    }
  }
  return response(name, text, toolCalls ?? [], result.finishReason.unified, result.usage);
}

/** `callModel` with `doStream`: text is passed to `onDelta` as it arrives. */
async function streamModel(
  model: LanguageModelV3,
  options: LanguageModelV3CallOptions,
  onDelta: DeltaListener,
): Promise<ModelResponse> {
  const name = modelName(model);
  try {
    const { stream } = await model.doStream(options);
    let text = '';
    const toolCalls: ModelToolCall[] = [];
    let finishReason = 'other';
    let usage: LanguageModelV3Usage | undefined;
    const reader = stream.getReader();
    for (;;) {
      const { done, value: part } = await reader.read();
      if (done) break;
      switch (part.type) {
        case 'text-delta':
          text += part.delta;
          if (part.delta.length > 0) onDelta(part.delta);
          break;
        case 'tool-call':
          if (part.providerExecuted !== true)
            toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
          break;
        case 'finish':
          finishReason = part.finishReason.unified;
          usage = part.usage;
          break;
        case 'error':
          throw streamError(name, part.error);
        default:
          break;
      }
    }
    return response(name, text, toolCalls, finishReason, usage);
  } catch (error) {
    throw asModelError(name, error, options.abortSignal);
  }
}

function response(
  model: string,
  text: string,
  toolCalls: ModelToolCall[],
  finishReason: string,
  usage: LanguageModelV3Usage | undefined,
): ModelResponse {
  const inputTokens = usage?.inputTokens.total ?? 0;
  const outputTokens = usage?.outputTokens.total ?? 0;
  return {
    text,
    toolCalls,
    finishReason,
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    cachedInputTokens: usage?.inputTokens.cacheRead ?? 0,
    model,
  };
}

/**
 * A stream's `error` part: the provider answered 200, then failed (an error event, a body the
 * client could not read, a stream that ended without a finish reason). Code `MODEL_STREAM_ERROR`;
 * the part's error is the cause.
 */
function streamError(model: string, error: unknown): ModelCallError {
  const wrapped = new ModelCallError(`Model ${model} failed mid-stream: ${providerMessage(error)}`, {
    model,
    code: 'MODEL_STREAM_ERROR',
    cause: error,
  });
  return Object.assign(wrapped, { errorClass: classifyError(wrapped, 'model') });
}

/** The message of an error, or of an error object a provider sent (`{ message, type, code }`). */
function providerMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  return typeof error === 'object' && error !== null ? JSON.stringify(error) : String(error);
}

/**
 * Wraps a provider failure of model `model` in a `ModelCallError` carrying its class
 * (`errorClass`) and the provider's `retry-after`; an abort (`signal`) or a Baton error stays as it is.
 *
 * @example
 * ```ts
 * throw asModelError('openai:gpt-4o', error, options.abortSignal);
 * ```
 */
export function asModelError(model: string, error: unknown, signal: AbortSignal | undefined): unknown {
  if (BatonError.isInstance(error)) return error;
  if (signal?.aborted === true) return signal.reason ?? error;
  let wrapped: ModelCallError;
  if (isAiSdkError(error, 'AI_APICallError')) {
    wrapped = new ModelCallError(
      `Model ${model} failed${error.statusCode === undefined ? '' : ` with HTTP ${error.statusCode}`}: ${error.message}`,
      {
        model,
        statusCode: error.statusCode,
        cause: error,
      },
    );
  } else {
    const message = errorMessage(error);
    wrapped = new ModelCallError(`Model ${model} failed: ${message}`, { model, cause: error });
  }
  return Object.assign(wrapped, { errorClass: classifyError(error, 'model') });
}
