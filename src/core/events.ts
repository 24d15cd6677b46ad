/** Run events (noun-verb, start/delta/end) and the in-process bus that carries them. */

import type { SerializedError } from './errors.js';
import type { JournalEntryKind, RunStatus, StepMeta, Usage } from './store.js';

interface EventBase {
  runId: string;
  /** Milliseconds since the epoch, from the runtime's clock. */
  at: number;
}

/** Every event a run emits. Patterns and user code add their own through `ctx.emit`. */
export type BatonEvent =
  | (EventBase & { type: 'run-start'; target: string; resumed: boolean })
  | (EventBase & {
      type: 'run-end';
      status: RunStatus;
      output?: unknown;
      error?: SerializedError;
      usage: Usage;
      costUsd: number;
      durationMs: number;
    })
  | (EventBase & { type: 'run-suspended'; waitingFor: string[]; wakeAt?: number })
  | (EventBase & { type: 'step-start'; key: string; name: string; kind: JournalEntryKind })
  | (EventBase & {
      type: 'step-end';
      key: string;
      name: string;
      kind: JournalEntryKind;
      durationMs: number;
      status: 'completed' | 'failed';
      error?: SerializedError;
      meta?: StepMeta;
    })
  | (EventBase & { type: 'agent-start'; scope: string; agent: string })
  | (EventBase & { type: 'agent-end'; scope: string; agent: string; output: unknown })
  | (EventBase & {
      type: 'model-delta';
      scope: string;
      agent: string;
      text: string;
      /**
       * The agent has `output` guardrails: if this answer is its final one they judge it whole
       * and may rewrite or withhold it, so this text is not yet what they leave. Show it only to
       * whoever may see what they redact; the answer as they left it comes with `agent-end`.
       */
      guarded?: true;
    })
  | (EventBase & {
      type: 'tool-call';
      scope: string;
      agent: string;
      tool: string;
      toolCallId: string;
      input: unknown;
    })
  | (EventBase & {
      type: 'tool-result';
      scope: string;
      agent: string;
      tool: string;
      toolCallId: string;
      output?: unknown;
      error?: string;
    })
  | (EventBase & { type: 'handoff'; scope: string; from: string; to: string; payload?: unknown })
  | (EventBase & {
      /** The context guard compacted, pruned or trimmed the conversation before a model call. */
      type: 'context-trimmed';
      scope: string;
      agent: string;
      /** `compacted`, `pruned`, `trimmed` (dropped or shortened to fit the window). */
      actions: string[];
      /** Tokens of the prompt sent, and the most it may take (window minus reserved output, or maxTokens). */
      promptTokens: number;
      limit: number;
      droppedMessages: number;
      droppedTokens: number;
      truncatedToolResults: number;
      compactedMessages: number;
    })
  | (EventBase & {
      type: 'pattern-start';
      scope: string;
      /** The pattern's kind: `sequential`, `groupChat`, `magentic`, ... */
      pattern: string;
      /** The pattern's name (its definition's `name`). */
      name: string;
      members: string[];
    })
  | (EventBase & {
      type: 'pattern-end';
      scope: string;
      pattern: string;
      name: string;
      /** Why it ended, in a few words (`approved`, `max rounds`, `stall limit`, ...). */
      outcome: string;
    })
  | (EventBase & {
      type: 'speaker-selected';
      scope: string;
      pattern: string;
      name: string;
      round: number;
      speaker: string;
      reason?: string;
    })
  | (EventBase & {
      type: 'ledger-update';
      scope: string;
      pattern: string;
      name: string;
      /** Which ledger: `task` (facts and plan), `progress` (per round), or a pattern's own. */
      ledger: string;
      round: number;
      data: unknown;
    })
  | (EventBase & {
      type: 'pattern-decision';
      scope: string;
      pattern: string;
      name: string;
      /** What was decided (a pattern chosen, a verdict, a termination). */
      decision: string;
      reasons: string[];
      data?: unknown;
    })
  | (EventBase & {
      /** A model or tool call failed with a transient error and is tried again after `delayMs`. */
      type: 'call-retry';
      scope: string;
      agent: string;
      /** `model` or `tool`; `name` is the `provider:model` or the tool name. */
      target: 'model' | 'tool';
      name: string;
      /** The attempt that failed (1 for the first call). */
      attempt: number;
      delayMs: number;
      error: string;
    })
  | (EventBase & {
      /** A process-wide circuit breaker (per provider or per tool) changed state. */
      type: 'breaker-state';
      scope: string;
      breaker: 'provider' | 'tool';
      name: string;
      state: 'open' | 'half-open' | 'closed';
    })
  | (EventBase & {
      /** The agent's model failed (after retries, or its breaker is open); the next model of its chain is tried. */
      type: 'model-fallback';
      scope: string;
      agent: string;
      from: string;
      to: string;
      error: string;
    })
  | (EventBase & {
      /** A failure classified `escalate` waits for a human: signal `signal` with `{ action: 'retry' | 'fail', note? }`. */
      type: 'escalation';
      scope: string;
      agent: string;
      tool?: string;
      signal: string;
      error: string;
    })
  | (EventBase & {
      /** A guardrail tripped (the run stops) or rewrote text (`input`, `output`, `tool-input`, `tool-output`). */
      type: 'guardrail';
      scope: string;
      agent: string;
      guardrail: string;
      stage: string;
      action: 'trip' | 'rewrite';
      reason: string;
      tool?: string;
    })
  | (EventBase & {
      /** The loop detector saw the same tool call or text repeated; `response` says what it did. */
      type: 'loop-detected';
      scope: string;
      agent: string;
      repeated: string;
      count: number;
      response: 'stop' | 'warn' | 'escalate';
    })
  | (EventBase & {
      /** A model call's spend crossed a budget's soft threshold (`budget.alertAt`); the run goes on. */
      type: 'budget-alert';
      scope: string;
      agent: string;
      /** Whose budget: the run's or the agent's own. */
      budget: 'run' | 'agent';
      limit: 'turns' | 'tokens' | 'cost';
      spent: number;
      max: number;
      alertAt: number;
    })
  | (EventBase & { type: 'custom'; scope: string; name: string; data: unknown });

/** The type names of Baton's events. */
export type BatonEventType = BatonEvent['type'];

/** Receives events; must not throw (a throwing listener is isolated and reported to stderr once). */
export type EventListener = (event: BatonEvent) => void;

/**
 * A synchronous in-process event bus. `emit` is a no-op when nobody listens, so the hot
 * path pays nothing for events it does not need.
 *
 * @example
 * ```ts
 * const bus = new EventBus();
 * const off = bus.on((event) => console.log(event.type));
 * off();
 * ```
 */
export class EventBus {
  #listeners: EventListener[] = [];
  #warned = false;

  /** True when at least one listener is subscribed. */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on(listener: EventListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((existing) => existing !== listener);
    };
  }

  emit(event: BatonEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        if (!this.#warned) {
          this.#warned = true;
          process.stderr.write(`baton: an event listener threw and was skipped: ${String(error)}\n`);
        }
      }
    }
  }
}
