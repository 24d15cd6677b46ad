/** The HTTP answers of the A2A endpoint: SSE for streams, errors in the REST API's shape, JSON-RPC internal errors without their internals. */

import { formatSSEErrorEvent, formatSSEEvent } from '@a2a-js/sdk';
import { JsonRpcTransportHandler } from '@a2a-js/sdk/server';

const internalError = -32603;

/** The SSE answer of a stream whose first item is `first`: one `data:` event per item, heartbeats, an `error` event if it fails. */
export function sseResponse(
  first: IteratorResult<unknown>,
  iterator: AsyncIterator<unknown>,
  heartbeatMs: number,
  left: AbortController,
  id: string | number | null,
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    left.abort();
    controller.close();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done === true) return finish(controller);
      controller.enqueue(encoder.encode(formatSSEEvent(first.value)));
      heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(': heartbeat\n\n'));
      }, heartbeatMs);
    },
    async pull(controller) {
      if (closed) return;
      try {
        const next = await iterator.next();
        if (closed) return;
        if (next.done === true) return finish(controller);
        controller.enqueue(encoder.encode(formatSSEEvent(next.value)));
      } catch (error) {
        if (closed) return;
        const mapped = JsonRpcTransportHandler.mapToJSONRPCError(error);
        controller.enqueue(
          encoder.encode(formatSSEErrorEvent(hideInternal({ jsonrpc: '2.0', id, error: mapped }))),
        );
        finish(controller);
      }
    },
    cancel() {
      closed = true;
      clearInterval(heartbeat);
      left.abort();
      void iterator.return?.(undefined);
    },
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
}

/** A JSON-RPC answer with an internal error's message replaced (it is logged): the answer says nothing of the internals. */
export function hideInternal<T>(answer: T): T {
  const error = (answer as { error?: { code?: number; message?: string; data?: unknown } }).error;
  if (error?.code !== internalError) return answer;
  process.stderr.write(`baton a2a: ${error.message ?? 'internal error'}\n`);
  return {
    ...answer,
    error: { code: internalError, message: 'The server failed to answer; its log says why.' },
  };
}

export function errorAnswer(status: number, code: string, message: string, authenticate?: string): Response {
  return Response.json(
    { error: { code, message } },
    { status, ...(authenticate === undefined ? {} : { headers: { 'www-authenticate': authenticate } }) },
  );
}

export function rpcId(value: unknown): string | number | null {
  return typeof value === 'string' || typeof value === 'number' ? value : null;
}
