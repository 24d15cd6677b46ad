/** `POST /v1/chat/:target`: an agent or team as a chat endpoint that the AI SDK's `useChat` consumes unchanged (the UI message stream), the conversation kept as a Baton thread. */

import { createUIMessageStream, createUIMessageStreamResponse, type UIMessageStreamWriter } from 'ai';
import { z } from 'zod';
import type { BatonEvent } from '../index.js';
import { HttpError } from './http-error.js';
import { assertTarget, type Route } from './route.js';

const chatParams = z.strictObject({
  target: z.string().min(1).max(200).describe('The agent or team to chat with'),
});

const uiPart = z.looseObject({ type: z.string().min(1).max(200) });

/** What `useChat` (DefaultChatTransport) posts; extra fields a client adds with `body` are allowed and ignored. */
const chatBody = z.looseObject({
  id: z.string().min(1).max(200).describe('The chat id: the Baton thread of the conversation'),
  messages: z
    .array(
      z.looseObject({
        id: z.string().max(200).optional(),
        role: z.enum(['system', 'user', 'assistant']),
        parts: z.array(uiPart).max(1000),
      }),
    )
    .min(1)
    .max(10_000)
    .describe('The UI messages; the last one, from the user, is what the run answers'),
  trigger: z.string().max(100).optional(),
  messageId: z.string().max(200).optional(),
});

/**
 * The chat route. Each request starts a run of the target with the text of the last user message
 * as input and `threadId` = the chat id, so the agent reads the earlier turns from the thread in
 * the store (the history the client sends is not trusted or needed); its events are streamed as
 * UI message chunks: model text as text parts, tool calls and results as (dynamic) tool parts,
 * handoffs as `data-handoff` parts, a wait for a person as a `data-waiting` part. The assistant
 * message's metadata carries the run id.
 *
 * @example
 * ```ts
 * // In the browser: useChat({ transport: new DefaultChatTransport({ api: '/v1/chat/support', headers: { authorization: `Bearer ${key}` } }) })
 * ```
 */
export function chatRoute(): Route {
  return {
    method: 'post',
    path: '/v1/chat/:target',
    operationId: 'chat',
    summary:
      'Chat with an agent or team: the AI SDK UI message stream (useChat), the conversation as a thread',
    scope: 'run',
    params: chatParams,
    body: chatBody,
    responses: {
      200: {
        description: 'The AI SDK UI message stream (SSE, x-vercel-ai-ui-message-stream: v1)',
        contentType: 'text/event-stream',
      },
    },
    async handle(_c, { params, body, key, tenant }) {
      const request = body as z.infer<typeof chatBody>;
      const name = params.target ?? '';
      const target = tenant.served.get(name);
      if (target === undefined)
        throw new HttpError(
          404,
          'TARGET_NOT_FOUND',
          `No target "${name}" is served. Targets: ${[...tenant.served.keys()].join(', ') || 'none'}.`,
        );
      assertTarget(key, name);
      const last = request.messages.at(-1);
      const text = last?.parts
        .filter((part) => part.type === 'text' && typeof part.text === 'string')
        .map((part) => part.text as string)
        .join('');
      if (last?.role !== 'user' || text === undefined || text.trim() === '')
        throw new HttpError(400, 'INVALID_REQUEST', 'The last message must be a user message with text.', [
          {
            path: ['messages', request.messages.length - 1],
            message: 'expected a user message with a text part',
          },
        ]);
      const handle = await tenant.runtime.start(name, text, {
        threadId: request.id,
        ...(target.source === undefined ? {} : { source: target.source }),
      });
      const stream = createUIMessageStream({
        execute: async ({ writer }) => {
          writer.write({ type: 'start', messageMetadata: { runId: handle.runId } });
          const translate = chunker(writer);
          for await (const event of handle.events()) translate.event(event);
          translate.close();
          // The run may have ended without this process seeing its end (a worker ran it).
          const record = await tenant.runtime.get(handle.runId);
          translate.ended(record.status, record.output, record.error?.message);
          writer.write({ type: 'finish', messageMetadata: { runId: handle.runId, status: record.status } });
        },
        onError: (error) => (error instanceof Error ? error.message : String(error)),
      });
      return createUIMessageStreamResponse({ stream, headers: { 'x-baton-run-id': handle.runId } });
    },
  };
}

/** Whether `outer` is `inner` or encloses it (`r` encloses `r/2.0`). */
const encloses = (outer: string, inner: string): boolean => inner === outer || inner.startsWith(`${outer}/`);

/**
 * Turns a run's events into UI message chunks, keeping one text part open while a model streams.
 * The text of an agent with output guardrails (`guarded` deltas) is held until it is known what
 * they leave of it: an answer that calls tools or hands off is not judged, so it is written then;
 * a final answer is replaced by the agent's answer as they left it (`agent-end`). Held text never
 * leaves otherwise.
 */
function chunker(writer: UIMessageStreamWriter) {
  let open: string | undefined;
  let texts = 0;
  let streamed = false;
  let stepOpen = false;
  /** Guarded text not yet written, by the agent's scope. */
  const held = new Map<string, string>();
  const closeText = (): void => {
    if (open !== undefined) writer.write({ type: 'text-end', id: open });
    open = undefined;
  };
  const closeStep = (): void => {
    closeText();
    if (stepOpen) writer.write({ type: 'finish-step' });
    stepOpen = false;
  };
  const writeText = (text: string): void => {
    if (text === '') return;
    if (open === undefined) {
      open = `text-${++texts}`;
      writer.write({ type: 'text-start', id: open });
    }
    streamed = true;
    writer.write({ type: 'text-delta', id: open, delta: text });
  };
  /** Writes the held text of `scope`'s agent, and of the agents around it: their answer asked for a tool or a handoff. */
  const release = (scope: string | undefined): void => {
    for (const [owner, text] of held)
      if (scope === undefined || encloses(owner, scope)) {
        held.delete(owner);
        writeText(text);
      }
  };
  return {
    event(event: BatonEvent): void {
      switch (event.type) {
        case 'step-start':
          if (event.kind === 'model') {
            // A model call again in a scope with held text: that answer was judged and not kept (a repair).
            held.delete(event.key.split('#')[0] ?? event.key);
            closeStep();
            writer.write({ type: 'start-step' });
            stepOpen = true;
          }
          return;
        case 'call-retry':
          // A retried call, or the next model of the chain, streams its answer again.
          if (event.target === 'model') held.delete(event.scope);
          return;
        case 'model-fallback':
          held.delete(event.scope);
          return;
        case 'model-delta':
          if (event.text === '') return;
          if (event.guarded === true) held.set(event.scope, (held.get(event.scope) ?? '') + event.text);
          else writeText(event.text);
          return;
        case 'agent-end':
          // A handoff ends the agent without an answer: what it said came with the transfer call.
          if (event.output === undefined) release(event.scope);
          else if (held.delete(event.scope))
            writeText(typeof event.output === 'string' ? event.output : JSON.stringify(event.output));
          return;
        case 'tool-call':
          release(event.scope);
          closeText();
          writer.write({
            type: 'tool-input-available',
            toolCallId: event.toolCallId,
            toolName: event.tool,
            input: event.input,
            dynamic: true,
          });
          return;
        case 'tool-result':
          if (event.error !== undefined)
            writer.write({
              type: 'tool-output-error',
              toolCallId: event.toolCallId,
              errorText: event.error,
              dynamic: true,
            });
          else
            writer.write({
              type: 'tool-output-available',
              toolCallId: event.toolCallId,
              output: event.output ?? null,
              dynamic: true,
            });
          return;
        case 'handoff':
          release(event.scope);
          closeText();
          writer.write({ type: 'data-handoff', data: { from: event.from, to: event.to } });
          return;
        case 'run-suspended':
          // A run waits only after a turn's tool calls (an approval): held text asked for them.
          release(undefined);
          closeStep();
          writer.write({ type: 'data-waiting', data: { runId: event.runId, waitingFor: event.waitingFor } });
          return;
        default:
          return;
      }
    },
    close: (): void => {
      held.clear();
      closeStep();
    },
    /** The run's end: its answer as text when no model streamed it (a workflow, a non-streaming model), or its error. */
    ended(status: string, output: unknown, error: string | undefined): void {
      if (status === 'completed' && !streamed && output !== undefined && output !== null) {
        const id = `text-${++texts}`;
        writer.write({ type: 'text-start', id });
        writer.write({
          type: 'text-delta',
          id,
          delta: typeof output === 'string' ? output : JSON.stringify(output),
        });
        writer.write({ type: 'text-end', id });
      } else if (status === 'failed' || status === 'cancelled' || status === 'budget-exceeded') {
        writer.write({ type: 'error', errorText: error ?? `The run ${status}.` });
      }
    },
  };
}
