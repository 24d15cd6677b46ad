/** Compaction: older turns summarized into key facts by a model, as one journaled step, replacing those turns. */

import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { RunContext } from '../core/run-context.js';
import type { StepMeta, Usage } from '../core/store.js';
import { callModel } from '../models/call-model.js';
import { resolveRunModel } from '../models/model-providers.js';
import { pricesOf } from '../models/pricing.js';
import type { ModelSpec } from '../models/resolve-model.js';
import type { ContextPolicy } from './context-policy.js';
import type { Message } from './messages.js';
import { messageText } from './tokens.js';

/**
 * The start of a summary message; `handoffFilters.summaryOnly` and the guard recognise summaries by it.
 *
 * @example
 * ```ts
 * const summaries = result.messages.filter((message) => message.role === 'user' && JSON.stringify(message.content).includes(SUMMARY_PREFIX));
 * ```
 */
export const SUMMARY_PREFIX = '[Summary of the earlier conversation]';

/**
 * True for a message that holds a compaction summary.
 *
 * @example
 * ```ts
 * history.filter(isSummaryMessage).length; // compactions so far
 * ```
 */
export function isSummaryMessage(message: Message): boolean {
  if (message.role !== 'user') return false;
  const first = message.content[0];
  return first?.type === 'text' && first.text.startsWith(SUMMARY_PREFIX);
}

/** What a compaction step records in the journal. */
export interface CompactionRecord {
  summary: string;
  /** Messages replaced by the summary. */
  messages: number;
  /** Their tokens, as counted for the agent's model. */
  tokens: number;
  model: string;
  usage: Usage;
}

/** The transcript the summarizer reads: one line per message part. */
export function transcript(messages: readonly Message[]): string {
  return messages.map((message) => `${message.role}: ${messageText(message).trimEnd()}`).join('\n');
}

/**
 * Summarizes `history[0..cut)` (except the message at `keptUser`, the last user message, which
 * stays verbatim before the summary) as the journaled step `compact:<agent>` (on replay the recorded
 * summary comes back without a model call) and replaces those messages with one summary message.
 * The summarizer's calls carry `providerOptions.baton.agent = '<agent>/compaction'`.
 */
export async function compactHistory(
  ctx: RunContext,
  agentName: string,
  agentModel: ModelSpec,
  policy: ContextPolicy,
  history: Message[],
  cut: number,
  keptUser: number,
  tokens: number,
  turn: number,
): Promise<CompactionRecord> {
  const older = history.slice(0, cut).filter((_, index) => index !== keptUser);
  const record = await ctx.step(
    `compact:${agentName}`,
    async (step): Promise<CompactionRecord> => {
      const model = await resolveRunModel(ctx, policy.compaction.model ?? agentModel);
      const options: LanguageModelV3CallOptions = {
        prompt: [
          { role: 'system', content: policy.compaction.instructions },
          { role: 'user', content: [{ type: 'text', text: transcript(older) }] },
        ],
        get abortSignal() {
          return step.signal;
        },
        providerOptions: { baton: { agent: `${agentName}/compaction`, runId: ctx.runId, turn } },
      };
      const response = await callModel(model, options);
      return {
        summary: response.text,
        messages: older.length,
        tokens,
        model: response.model,
        usage: response.usage,
      };
    },
    { kind: 'model', meta: (result) => compactionMeta(ctx, agentName, result) },
  );
  const text = `${SUMMARY_PREFIX} (${record.messages} messages)\n${record.summary}`;
  const summary: Message = { role: 'user', content: [{ type: 'text', text }] };
  const user = history[keptUser];
  history.splice(0, cut, ...(user === undefined ? [summary] : [user, summary]));
  return record;
}

function compactionMeta(ctx: RunContext, agent: string, record: CompactionRecord): StepMeta {
  const meta: StepMeta = {
    agent,
    model: record.model,
    usage: record.usage,
    compaction: { messages: record.messages, tokens: record.tokens },
  };
  const cost = pricesOf(ctx).costOf(record.model, record.usage, 0);
  if (cost !== undefined) meta.costUsd = cost;
  return meta;
}
