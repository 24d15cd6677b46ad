/** A client's message to an input-required task as the signal that answers the run's wait: which signal, and what payload. */

import type { Message } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { PendingRequest } from '../../index.js';
import { textOfMessage } from './a2a-task.js';

/** The signal a reply sends and its payload. */
export interface Reply {
  signal: string;
  payload: unknown;
}

const approveWords = /^\s*(approve|approved|yes|y|ok)\s*[.!]?\s*$/i;
const rejectWords = /^\s*(reject|rejected|no|n|deny|denied)\b[\s:.,-]*([\s\S]*)$/i;

/**
 * The answer a message gives: to the wait named by `metadata.signal` when the run has several,
 * else to the oldest open one. The payload is the message's data part when it has one;
 * otherwise its text: as it is for a human member (`human:<name>`), as `approve` / `reject:
 * <reason>` for a tool approval (bound to the arguments shown, with `by` = the caller), and for a
 * plain signal as JSON when the text is JSON, else as the string.
 */
export function replyOf(message: Message, open: readonly PendingRequest[], by: string | undefined): Reply {
  const named = message.metadata?.signal;
  const request = typeof named === 'string' ? open.find((candidate) => candidate.signal === named) : open[0];
  if (request === undefined) {
    throw new RequestMalformedError(
      typeof named === 'string'
        ? `The task does not wait for the signal "${named}"; it waits for ${open.map((candidate) => `"${candidate.signal}"`).join(', ')}.`
        : 'The task waits for no answer.',
    );
  }
  const data = message.parts.find((part) => part.content?.$case === 'data')?.content?.value;
  const text = textOfMessage(message);
  if (data !== undefined) return { signal: request.signal, payload: data };
  if (request.kind === 'human') return { signal: request.signal, payload: { text } };
  if (request.kind === 'approval') {
    const signed = {
      ...(by === undefined ? {} : { by }),
      ...(request.inputHash === undefined ? {} : { inputHash: request.inputHash }),
    };
    if (approveWords.test(text)) return { signal: request.signal, payload: { approved: true, ...signed } };
    const rejected = rejectWords.exec(text);
    if (rejected !== null) {
      const reason = rejected[2]?.trim();
      return {
        signal: request.signal,
        payload: { approved: false, ...(reason ? { reason } : {}), ...(by === undefined ? {} : { by }) },
      };
    }
    throw new RequestMalformedError(
      `The task waits for an approval of ${request.tool ?? 'a tool call'}: reply "approve", or "reject: <reason>" (got "${text.slice(0, 80)}").`,
    );
  }
  try {
    return { signal: request.signal, payload: JSON.parse(text) as unknown };
  } catch {
    return { signal: request.signal, payload: text };
  }
}
