/** A webhook receiver for tests: an HTTP server on loopback that records every request and answers as told. */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON event, checked by each test's assertions
  event: any;
  at: number;
}

/** How to answer: a status and headers; `hang: true` never answers. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  hang?: boolean;
}

/** A receiver listening on 127.0.0.1. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `count` requests came (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Starts a receiver; `answer` decides each response (default 200). */
export async function startReceiver(
  answer: (request: Received, index: number) => Answer = () => ({ status: 200 }),
): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry: Received = {
        path: request.url ?? '/',
        headers: request.headers,
        body,
        event: JSON.parse(body),
        at: Date.now(),
      };
      received.push(entry);
      for (const wake of waiters.splice(0)) wake();
      const reply = answer(entry, received.length - 1);
      if (reply.hang === true) return;
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end(reply.status >= 400 ? `refused with ${reply.status}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `the receiver got ${received.length} requests, not ${count}: ${received.map((r) => r.event.type).join(', ')}`,
          );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
