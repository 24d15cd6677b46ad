/** An A2A agent built with the SDK's own server classes (DefaultRequestHandler, InMemoryTaskStore, the Express JSON-RPC handler) on a loopback port, for remoteAgent's tests. */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { A2A_PROTOCOL_VERSION, type AgentCard, type Message, Role, TaskState } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

/** The part of Express used here (express has no types installed; the SDK's Express handlers need it). */
interface ExpressApp {
  use(path: string, handler: unknown): void;
  listen(port: number, host: string, ready: () => void): Server;
}
type Middleware = (
  request: { method: string },
  response: { status(code: number): { json(body: unknown): void } },
  next: () => void,
) => void;
const express = createRequire(import.meta.url)('express') as () => ExpressApp;

/** What the agent answers to a message: its reply text, and whether the task then needs more input. */
export type Behaviour = (text: string, turn: number) => Promise<{ text: string; needsInput?: boolean }>;

/** A running SDK agent. */
export interface SdkAgent {
  /** Its base URL (the card is at `<url>/.well-known/agent-card.json`). */
  url: string;
  /** Every distinct message it received, in order. */
  received: Message[];
  /** Answers the next `count` JSON-RPC calls with this HTTP status instead of serving them. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

function textIn(message: Message): string {
  return message.parts.map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join('');
}

function agentMessage(taskId: string, contextId: string, text: string): Message {
  return {
    messageId: `agent-${Math.random().toString(36).slice(2)}`,
    contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts: [
      { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' },
    ],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** An executor that publishes a task, works, then completes with `behaviour`'s text as an artifact, or asks for input. */
function executorFor(behaviour: Behaviour, received: Message[]): AgentExecutor {
  const turns = new Map<string, number>();
  return {
    async execute(context: RequestContext, bus: ExecutionEventBus) {
      const { taskId, contextId, userMessage } = context;
      if (!received.some((message) => message.messageId === userMessage.messageId))
        received.push(userMessage);
      const status = (state: TaskState, message?: Message) => ({
        taskId,
        contextId,
        status: { state, message, timestamp: new Date().toISOString() },
        metadata: undefined,
      });
      if (context.task === undefined) {
        bus.publish(
          AgentEvent.task({
            id: taskId,
            contextId,
            status: {
              state: TaskState.TASK_STATE_SUBMITTED,
              message: undefined,
              timestamp: new Date().toISOString(),
            },
            artifacts: [],
            history: [userMessage],
            metadata: undefined,
          }),
        );
      } else {
        // A follow-up turn: the task again, working on the answer.
        bus.publish(
          AgentEvent.task({
            ...context.task,
            status: {
              state: TaskState.TASK_STATE_WORKING,
              message: undefined,
              timestamp: new Date().toISOString(),
            },
          }),
        );
      }
      bus.publish(AgentEvent.statusUpdate(status(TaskState.TASK_STATE_WORKING)));
      const turn = (turns.get(taskId) ?? 0) + 1;
      turns.set(taskId, turn);
      const answer = await behaviour(textIn(userMessage), turn);
      if (answer.needsInput === true) {
        bus.publish(
          AgentEvent.statusUpdate(
            status(TaskState.TASK_STATE_INPUT_REQUIRED, agentMessage(taskId, contextId, answer.text)),
          ),
        );
      } else {
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId,
            contextId,
            artifact: {
              artifactId: 'answer',
              name: 'answer',
              description: '',
              parts: [
                {
                  content: { $case: 'text', value: answer.text },
                  metadata: undefined,
                  filename: '',
                  mediaType: 'text/plain',
                },
              ],
              metadata: undefined,
              extensions: [],
            },
            append: false,
            lastChunk: true,
            metadata: undefined,
          }),
        );
        bus.publish(AgentEvent.statusUpdate(status(TaskState.TASK_STATE_COMPLETED)));
      }
      bus.finished();
    },
    async cancelTask(taskId: string, bus: ExecutionEventBus) {
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId: '',
          status: {
            state: TaskState.TASK_STATE_CANCELED,
            message: undefined,
            timestamp: new Date().toISOString(),
          },
          metadata: undefined,
        }),
      );
      bus.finished();
    },
  };
}

/** Starts an SDK agent on a free loopback port. */
export async function startSdkAgent(name: string, behaviour: Behaviour, port = 0): Promise<SdkAgent> {
  const received: Message[] = [];
  let failures = 0;
  let failStatus = 503;
  const app = express();
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const card: AgentCard = {
    name,
    description: `The SDK test agent ${name}`,
    supportedInterfaces: [
      { url: `${url}/a2a`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION },
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executorFor(behaviour, received));
  const flaky: Middleware = (request, response, next) => {
    if (request.method === 'POST' && failures > 0) {
      failures -= 1;
      response.status(failStatus).json({ error: 'try again' });
      return;
    }
    next();
  };
  app.use('/a2a', flaky);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url,
    received,
    failNext(count, status) {
      failures = count;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
