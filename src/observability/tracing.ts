/**
 * OpenTelemetry traces of runs, by the GenAI semantic conventions: a run observer (core/run-observer.ts)
 * that turns each execution's events into spans. Nothing is loaded and nothing is built while no
 * tracer provider is registered (ADR 0014).
 */

import type {
  Attributes,
  AttributeValue,
  Context,
  Link,
  Span,
  SpanContext,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import type { SerializedError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import type { ExecutionWatch, RunObserver } from '../core/run-observer.js';
import type { RunRecord, RunStatus, StepMeta } from '../core/store.js';
import { globalRegistered, modelParts, type OtelApi, otelApi } from './otel-api.js';

/** Options of tracing (`createRuntime({ tracing })`). */
export interface TracingOptions {
  /**
   * Where spans go. Default: the provider an OpenTelemetry SDK registered globally (checked at
   * each run, so an SDK started after the runtime is used too); while there is none, runs are not
   * traced and `@opentelemetry/api` is not even loaded.
   */
  tracerProvider?: TracerProvider;
  /**
   * Put content on spans: tool call arguments and results, agents' final outputs, ledger and
   * decision data; and on `chat` spans the messages sent (`gen_ai.input.messages`) when the
   * runtime journals prompts (`journalPrompts: true`). These are the values after the agent's
   * guardrails rewrote them. Default false: spans carry names, models, token counts, costs and
   * errors only.
   */
  captureContent?: boolean;
}

const tracerName = 'batonjs';

/**
 * A run observer that traces runs with OpenTelemetry: one `invoke_workflow {target}` span per
 * execution (the first is the trace's root, or a child of the span active at `runtime.start`;
 * later executions, in any process, are its children and link to it), `invoke_workflow {name}`
 * per pattern, `invoke_agent {agent}` per agent turn sequence, `chat {model}` per model call,
 * `execute_tool {tool}` per tool call, and a span per other step; decisions, handoffs, retries,
 * guardrail trips and waits as span events. Replayed steps make no spans.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'batonjs';
 * // With an OpenTelemetry SDK registered, runs are traced by default; to pass a provider:
 * const runtime = createRuntime({ tracing: { tracerProvider: provider, captureContent: true } });
 * ```
 */
export class TracingObserver implements RunObserver {
  readonly #provider: TracerProvider | undefined;
  readonly #captureContent: boolean;
  #tracer: Tracer | undefined;
  /** Run spans begun at creation and not yet taken by an execution here (nor handed off). */
  readonly #begun = new Map<string, Span>();
  /** Executions traced in this process now, by run id (a distributed child's parent is found here). */
  readonly #active = new Map<string, TracedExecution>();

  constructor(options: TracingOptions) {
    this.#provider = options.tracerProvider;
    this.#captureContent = options.captureContent === true;
  }

  /** The tracer, or undefined while no provider is registered (the common, free case). */
  #currentTracer(): Tracer | undefined {
    if (this.#tracer !== undefined) return this.#tracer;
    if (this.#provider === undefined && !globalRegistered('trace')) return undefined;
    const provider = this.#provider ?? otelApi().trace.getTracerProvider();
    this.#tracer = provider.getTracer(tracerName);
    return this.#tracer;
  }

  created(run: RunRecord): string | undefined {
    const tracer = this.#currentTracer();
    if (tracer === undefined) return undefined;
    const api = otelApi();
    const span = tracer.startSpan(
      `invoke_workflow ${run.target}`,
      { kind: api.SpanKind.INTERNAL, attributes: runAttributes(run) },
      this.#creationParent(api, run),
    );
    if (!span.isRecording()) return undefined;
    this.#begun.set(run.id, span);
    return traceparentOf(span.spanContext());
  }

  /** A distributed child's span hangs under its parent's step when the parent runs here; otherwise the caller's active span. */
  #creationParent(api: OtelApi, run: RunRecord): Context {
    const at = run.id.lastIndexOf('.child.');
    const parent = at > 0 ? this.#active.get(run.id.slice(0, at)) : undefined;
    if (parent === undefined) return api.context.active();
    return api.trace.setSpan(api.ROOT_CONTEXT, parent.currentSpan());
  }

  handedOff(run: RunRecord, error?: SerializedError): void {
    const span = this.#begun.get(run.id);
    if (span === undefined) return;
    this.#begun.delete(run.id);
    if (error !== undefined) markFailed(otelApi(), span, error);
    else span.setAttribute('baton.run.queued', true);
    span.end();
  }

  watch(run: RunRecord, resumed: boolean): ExecutionWatch | undefined {
    let span = this.#begun.get(run.id);
    if (span !== undefined) {
      this.#begun.delete(run.id);
    } else {
      const tracer = this.#currentTracer();
      if (tracer === undefined) return undefined;
      const api = otelApi();
      const origin = run.trace === undefined ? undefined : parseTraceparent(run.trace);
      const links: Link[] = origin === undefined ? [] : [{ context: origin }];
      span = tracer.startSpan(
        `invoke_workflow ${run.target}`,
        { kind: api.SpanKind.INTERNAL, attributes: runAttributes(run), links },
        origin === undefined ? api.context.active() : api.trace.setSpanContext(api.ROOT_CONTEXT, origin),
      );
      if (!span.isRecording()) return undefined;
    }
    if (resumed) span.setAttribute('baton.run.resumed', true);
    const execution = new TracedExecution(
      otelApi(),
      this.#currentTracer() as Tracer,
      span,
      run,
      this.#captureContent,
      () => {
        if (this.#active.get(run.id) === execution) this.#active.delete(run.id);
      },
    );
    this.#active.set(run.id, execution);
    return execution;
  }
}

interface StepSpan {
  span: Span;
  kind: string;
  /** A tool step with a call id ends at its `tool-result` event (which carries the result), not at `step-end`. */
  endsWithResult: boolean;
}

interface PendingCall {
  tool: string;
  id: string;
  input: unknown;
}

/** The spans of one execution, built from its events. */
class TracedExecution implements ExecutionWatch {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;
  readonly #run: Span;
  readonly #record: RunRecord;
  readonly #content: boolean;
  readonly #done: () => void;
  /** Open pattern and agent spans by scope, innermost last. */
  readonly #open = new Map<string, { span: Span; agent?: string; pattern?: string }[]>();
  /** Open step spans by step key. */
  readonly #steps = new Map<string, StepSpan>();
  /** Tool calls announced (`tool-call`) and not yet matched to their step, by scope. */
  readonly #calls = new Map<string, PendingCall[]>();
  /** Tool step spans waiting for their `tool-result`, by call id. */
  readonly #awaitingResult = new Map<string, Span>();
  #lastStepKey: string | undefined;

  constructor(
    api: OtelApi,
    tracer: Tracer,
    run: Span,
    record: RunRecord,
    content: boolean,
    done: () => void,
  ) {
    this.#api = api;
    this.#tracer = tracer;
    this.#run = run;
    this.#record = record;
    this.#content = content;
    this.#done = done;
  }

  /** The innermost span open now: where a distributed child started from here hangs. */
  currentSpan(): Span {
    const key = this.#lastStepKey;
    const step = key === undefined ? undefined : this.#steps.get(key);
    return step?.span ?? this.#run;
  }

  event(event: BatonEvent): void {
    switch (event.type) {
      case 'pattern-start':
        this.#push(
          event.scope,
          this.#start(`invoke_workflow ${event.name}`, event.scope, patternAttributes(event)),
          {
            pattern: event.name,
          },
        );
        return;
      case 'pattern-end':
        this.#pop(
          event.scope,
          (entry) => entry.pattern === event.name,
          (span) => {
            span.setAttribute('baton.pattern.outcome', event.outcome);
          },
        );
        return;
      case 'agent-start':
        this.#push(
          event.scope,
          this.#start(`invoke_agent ${event.agent}`, event.scope, this.#agentAttributes(event.agent)),
          {
            agent: event.agent,
          },
        );
        return;
      case 'agent-end':
        this.#pop(
          event.scope,
          (entry) => entry.agent === event.agent,
          (span) => {
            if (this.#content && event.output !== undefined)
              span.setAttribute('baton.agent.output', contentText(event.output));
          },
        );
        return;
      case 'tool-call':
        this.#announceCall(event.scope, { tool: event.tool, id: event.toolCallId, input: event.input });
        return;
      case 'tool-result':
        this.#toolResult(event.toolCallId, event.output, event.error);
        return;
      case 'step-start':
        this.#stepStart(event.key, event.name, event.kind);
        return;
      case 'step-end':
        this.#stepEnd(event);
        return;
      case 'run-suspended': {
        const attributes: Attributes = { 'baton.waiting_for': event.waitingFor };
        if (event.wakeAt !== undefined) attributes['baton.wake_at'] = new Date(event.wakeAt).toISOString();
        this.#run.addEvent('baton.suspended', attributes);
        return;
      }
      case 'run-end':
        this.#runEnd(event);
        return;
      case 'run-start':
      case 'model-delta':
        return;
      default:
        this.#spanEvent(event);
    }
  }

  end(status: RunStatus | 'released', error?: SerializedError): void {
    for (const span of this.#awaitingResult.values()) span.end();
    for (const step of this.#steps.values()) step.span.end();
    for (const stack of this.#open.values()) for (const entry of stack) entry.span.end();
    this.#run.setAttribute('baton.run.status', status);
    if (error !== undefined && status !== 'suspended') markFailed(this.#api, this.#run, error);
    this.#run.end();
    this.#done();
  }

  #agentAttributes(agent: string): Attributes {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': agent,
      'baton.run.id': this.#record.id,
    };
    if (this.#record.threadId !== undefined) attributes['gen_ai.conversation.id'] = this.#record.threadId;
    return attributes;
  }

  /** Starts a span under whatever is innermost for `scope`. */
  #start(name: string, scope: string, attributes: Attributes, kind = this.#api.SpanKind.INTERNAL): Span {
    const parent = this.#api.trace.setSpan(this.#api.ROOT_CONTEXT, this.#parentOf(scope));
    return this.#tracer.startSpan(name, { kind, attributes }, parent);
  }

  /**
   * The span a new span in `scope` hangs under: the innermost pattern or agent open in that
   * scope, else the step that opened the scope (`S/n` is opened by step `S#n`), else the same
   * for the enclosing scope, up to the run's span.
   */
  #parentOf(scope: string): Span {
    let current = scope;
    for (;;) {
      const stack = this.#open.get(current);
      if (stack !== undefined && stack.length > 0) return (stack[stack.length - 1] as { span: Span }).span;
      const slash = current.lastIndexOf('/');
      if (slash < 0) return this.#run;
      const step = this.#steps.get(`${current.slice(0, slash)}#${current.slice(slash + 1)}`);
      if (step !== undefined) return step.span;
      current = current.slice(0, slash);
    }
  }

  #push(scope: string, span: Span, entry: { agent?: string; pattern?: string }): void {
    let stack = this.#open.get(scope);
    if (stack === undefined) {
      stack = [];
      this.#open.set(scope, stack);
    }
    stack.push({ span, ...entry });
  }

  /** Ends the innermost span of `scope` that `matches` (and anything opened above it and left open). */
  #pop(
    scope: string,
    matches: (entry: { agent?: string; pattern?: string }) => boolean,
    finish: (span: Span) => void,
  ): void {
    const stack = this.#open.get(scope);
    if (stack === undefined) return;
    for (let index = stack.length - 1; index >= 0; index--) {
      const entry = stack[index] as { span: Span; agent?: string; pattern?: string };
      if (!matches(entry)) continue;
      for (const above of stack.splice(index)) {
        if (above === entry) finish(above.span);
        above.span.end();
      }
      if (stack.length === 0) this.#open.delete(scope);
      return;
    }
  }

  #announceCall(scope: string, call: PendingCall): void {
    const calls = this.#calls.get(scope);
    if (calls === undefined) this.#calls.set(scope, [call]);
    else calls.push(call);
  }

  /** The announced call a step runs (`tool:<name>`, or `run:<name>` for a delegation), taken from the queue of its scope. */
  #takeCall(scope: string, name: string): PendingCall | undefined {
    const calls = this.#calls.get(scope);
    if (calls === undefined) return undefined;
    const colon = name.indexOf(':');
    const tool = colon < 0 ? name : name.slice(colon + 1);
    const index = calls.findIndex((call) => call.tool === tool);
    if (index < 0) return undefined;
    const [call] = calls.splice(index, 1);
    if (calls.length === 0) this.#calls.delete(scope);
    return call;
  }

  #stepStart(key: string, name: string, kind: string): void {
    const hash = key.lastIndexOf('#');
    const scope = hash < 0 ? key : key.slice(0, hash);
    const attributes: Attributes = {
      'baton.step.key': key,
      'baton.step.kind': kind,
      'baton.run.id': this.#record.id,
    };
    let spanName: string;
    let spanKind = this.#api.SpanKind.INTERNAL;
    let call: PendingCall | undefined;
    if (kind === 'model') {
      spanName = 'chat';
      spanKind = this.#api.SpanKind.CLIENT;
      attributes['gen_ai.operation.name'] = 'chat';
    } else if (kind === 'tool') {
      const tool = name.startsWith('tool:') ? name.slice(5) : name;
      spanName = `execute_tool ${tool}`;
      attributes['gen_ai.operation.name'] = 'execute_tool';
      attributes['gen_ai.tool.name'] = tool;
      call = this.#takeCall(scope, name);
    } else {
      spanName = `${kind} ${name}`;
      attributes['baton.step.name'] = name;
      if (kind === 'child' && name.startsWith('run:')) call = this.#takeCall(scope, name);
    }
    if (call !== undefined) {
      attributes['gen_ai.tool.call.id'] = call.id;
      if (kind === 'child') attributes['gen_ai.tool.name'] = call.tool;
      if (this.#content) attributes['gen_ai.tool.call.arguments'] = contentText(call.input);
    }
    const span = this.#start(spanName, scope, attributes, spanKind);
    const endsWithResult = kind === 'tool' && call !== undefined;
    if (endsWithResult) this.#awaitingResult.set((call as PendingCall).id, span);
    this.#steps.set(key, { span, kind, endsWithResult });
    this.#lastStepKey = key;
  }

  #stepEnd(event: Extract<BatonEvent, { type: 'step-end' }>): void {
    const step = this.#steps.get(event.key);
    if (step === undefined) return;
    this.#steps.delete(event.key);
    const span = step.span;
    if (event.meta !== undefined) {
      if (step.kind === 'model') {
        modelAttributes(span, event.meta);
        // Prompts are in the meta only when the runtime journals them (`journalPrompts`).
        // (The answer is not put here: an output guardrail rewrites it after this span ends; the
        // agent span carries the final output, the tool spans the calls.)
        if (this.#content && event.meta.prompt !== undefined)
          span.setAttribute('gen_ai.input.messages', JSON.stringify(event.meta.prompt));
      } else if (event.meta.costUsd !== undefined) span.setAttribute('baton.cost_usd', event.meta.costUsd);
    }
    if (event.status === 'failed' && event.error !== undefined) markFailed(this.#api, span, event.error);
    if (!step.endsWithResult || event.status === 'failed') {
      span.end();
      if (step.endsWithResult) this.#forgetAwaiting(span);
    }
  }

  #forgetAwaiting(span: Span): void {
    for (const [id, awaiting] of this.#awaitingResult) {
      if (awaiting === span) {
        this.#awaitingResult.delete(id);
        return;
      }
    }
  }

  #toolResult(callId: string, output: unknown, error: string | undefined): void {
    const span = this.#awaitingResult.get(callId);
    if (span === undefined) return;
    this.#awaitingResult.delete(callId);
    if (error !== undefined) {
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: error });
      span.setAttribute('error.type', 'tool_error');
    } else if (this.#content && output !== undefined) {
      span.setAttribute('gen_ai.tool.call.result', contentText(output));
    }
    span.end();
  }

  #runEnd(event: Extract<BatonEvent, { type: 'run-end' }>): void {
    const span = this.#run;
    span.setAttribute('gen_ai.usage.input_tokens', event.usage.inputTokens);
    span.setAttribute('gen_ai.usage.output_tokens', event.usage.outputTokens);
    span.setAttribute('baton.cost_usd', event.costUsd);
    if (this.#content && event.output !== undefined)
      span.setAttribute('baton.run.output', contentText(event.output));
  }

  /** Decisions, handoffs, retries, trips and the like: an event on the innermost span of their scope. */
  #spanEvent(event: BatonEvent): void {
    const { type, runId: _runId, at: _at, ...fields } = event as BatonEvent & Record<string, unknown>;
    const scope = typeof fields.scope === 'string' ? fields.scope : 'r';
    const attributes: Attributes = {};
    for (const [name, value] of Object.entries(fields)) {
      if (name === 'scope') continue;
      const isContent = name === 'data' || name === 'payload' || name === 'output' || name === 'input';
      if (isContent && !this.#content) continue;
      const attribute = attributeValue(value);
      if (attribute !== undefined) attributes[`baton.${snakeCase(name)}`] = attribute;
    }
    const name = type === 'custom' ? `baton.custom.${String(fields.name)}` : `baton.${type}`;
    const pattern =
      typeof fields.pattern === 'string' ? this.#patternSpan(scope, String(fields.name)) : undefined;
    (pattern ?? this.#parentOf(scope)).addEvent(name, attributes);
  }

  /** The open span of the pattern named `name` in `scope` (a pattern's own decisions go on it). */
  #patternSpan(scope: string, name: string): Span | undefined {
    const stack = this.#open.get(scope);
    if (stack === undefined) return undefined;
    for (let index = stack.length - 1; index >= 0; index--) {
      const entry = stack[index] as { span: Span; pattern?: string };
      if (entry.pattern === name) return entry.span;
    }
    return undefined;
  }
}

function runAttributes(run: RunRecord): Attributes {
  const attributes: Attributes = {
    'gen_ai.operation.name': 'invoke_workflow',
    'baton.run.id': run.id,
    'baton.run.target': run.target,
    'baton.run.target_version': run.targetVersion,
  };
  if (run.threadId !== undefined) attributes['gen_ai.conversation.id'] = run.threadId;
  return attributes;
}

function patternAttributes(event: Extract<BatonEvent, { type: 'pattern-start' }>): Attributes {
  return {
    'gen_ai.operation.name': 'invoke_workflow',
    'baton.pattern': event.pattern,
    'baton.pattern.name': event.name,
    'baton.pattern.members': event.members,
  };
}

/** A model step's span: `chat {model}` with provider, model, tokens, finish reason and cost. */
function modelAttributes(span: Span, meta: StepMeta): void {
  const model = typeof meta.model === 'string' ? meta.model : undefined;
  if (model !== undefined) {
    const { provider, model: modelId } = modelParts(model);
    span.updateName(`chat ${modelId}`);
    span.setAttribute('gen_ai.request.model', modelId);
    span.setAttribute('gen_ai.response.model', modelId);
    if (provider !== undefined) span.setAttribute('gen_ai.provider.name', provider);
  }
  if (typeof meta.agent === 'string') span.setAttribute('gen_ai.agent.name', meta.agent);
  if (meta.usage !== undefined) {
    span.setAttribute('gen_ai.usage.input_tokens', meta.usage.inputTokens);
    span.setAttribute('gen_ai.usage.output_tokens', meta.usage.outputTokens);
  }
  if (typeof meta.finishReason === 'string')
    span.setAttribute('gen_ai.response.finish_reasons', [meta.finishReason]);
  if (meta.costUsd !== undefined) span.setAttribute('baton.cost_usd', meta.costUsd);
  if (typeof meta.attempts === 'number') span.setAttribute('baton.attempts', meta.attempts);
}

function markFailed(api: OtelApi, span: Span, error: SerializedError): void {
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message });
  span.setAttribute('error.type', error.code ?? error.name);
}

/** A W3C `traceparent` header value for a span context. */
function traceparentOf(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1) === 1 ? '01' : '00'}`;
}

/** The span context of a stored `traceparent`; undefined when it is not one. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  if (match === null) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/** Content as an attribute: strings as they are, anything else as JSON. */
function contentText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function attributeValue(value: unknown): AttributeValue | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  if (value === undefined || value === null) return undefined;
  return contentText(value);
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
