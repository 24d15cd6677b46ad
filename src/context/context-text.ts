/** One-line descriptions of what the context guard did, for `baton show` and logs. */

import type { StepMeta } from '../core/store.js';

/**
 * What the context layer recorded on a step's meta, in a few words: a compaction step's
 * `compacted 42 messages (3120 tok)`, a model step's `context 1830/2000 tok, dropped 12 msgs`.
 * Undefined when the step has no context data or nothing worth showing happened.
 *
 * @example
 * ```ts
 * describeContext({ context: { promptTokens: 1830, limit: 2000, actions: ['trimmed'], droppedMessages: 12 } });
 * // 'context 1830/2000 tok, dropped 12 msgs'
 * ```
 */
export function describeContext(meta: StepMeta | undefined): string | undefined {
  const compaction = meta?.compaction as { messages?: number; tokens?: number } | undefined;
  if (compaction !== undefined && typeof compaction.messages === 'number')
    return `compacted ${compaction.messages} messages (${compaction.tokens ?? '?'} tok)`;
  const report = meta?.context as
    | {
        promptTokens?: number;
        limit?: number;
        actions?: string[];
        droppedMessages?: number;
        truncatedToolResults?: number;
      }
    | undefined;
  if (report === undefined || (report.actions?.length ?? 0) === 0) return undefined;
  const parts = [`context ${report.promptTokens ?? '?'}/${report.limit ?? '?'} tok`];
  if ((report.droppedMessages ?? 0) > 0) parts.push(`dropped ${report.droppedMessages} msgs`);
  if ((report.truncatedToolResults ?? 0) > 0)
    parts.push(`shortened ${report.truncatedToolResults} tool results`);
  if (report.actions?.includes('compacted') === true) parts.push('after compaction');
  return parts.join(', ');
}
