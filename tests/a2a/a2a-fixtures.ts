/** What the A2A tests share: A2A messages, an SDK client with a key, and a local HTTP receiver for push notifications. */

import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Message, type Part, Role, type SendMessageRequest } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';

/** A text part. */
export function text(value: string): Part {
  return { content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

/** A user message with these parts, on a task when `taskId` is given. */
export function userMessage(
  parts: Part[],
  options: { taskId?: string; contextId?: string; metadata?: Record<string, unknown> } = {},
): Message {
  return {
    messageId: `m-${Math.random().toString(36).slice(2)}`,
    contextId: options.contextId ?? '',
    taskId: options.taskId ?? '',
    role: Role.ROLE_USER,
    parts,
    metadata: options.metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** A SendMessage request for `message`. */
export function request(
  message: Message,
  configuration?: Partial<NonNullable<SendMessageRequest['configuration']>>,
): SendMessageRequest {
  return {
    tenant: '',
    message,
    configuration:
      configuration === undefined
        ? undefined
        : {
            acceptedOutputModes: [],
            taskPushNotificationConfig: undefined,
            returnImmediately: false,
            ...configuration,
          },
    metadata: undefined,
  };
}

/** The SDK's client for the agent at `baseUrl` (its card at `<baseUrl>/.well-known/agent-card.json`), sending `key` as a bearer token. */
export async function sdkClient(baseUrl: string, key?: string): Promise<Client> {
  const fetchImpl: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: {
        ...(init?.headers as Record<string, string> | undefined),
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
    });
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return factory.createFromUrl(baseUrl);
}

/** A local HTTP server that records every POST it gets (headers and JSON body). */
export async function pushReceiver(): Promise<{
  url: string;
  received: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  close(): Promise<void>;
}> {
  const received: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  const server = createHttpServer((incoming, outgoing) => {
    let body = '';
    incoming.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    incoming.on('end', () => {
      received.push({ headers: incoming.headers, body: JSON.parse(body) as Record<string, unknown> });
      outgoing.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves once `check` returns true (polling), or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
