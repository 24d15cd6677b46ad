/** remoteAgent(): an A2A agent elsewhere as a Baton member or tool; each call a journaled step under a model call's policies, its questions a durable wait for a person. */

import { createHash } from 'node:crypto';
import { type Message, type Part, Role } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { ConfigError } from '../../core/errors.js';
import { lazySchema } from '../../core/load-zod.js';
import { checkOptionNames, optionNames } from '../../core/option-names.js';
import { checkRetry, type RetryOptions } from '../../core/retry-options.js';
import type { RunContext } from '../../core/run-context.js';
import { assertName, type Runnable, type Workflow } from '../../core/runnable.js';
import { runnableTool, type Tool } from '../../tools/tool.js';
import { callRemote, RemoteAgentError, type RemotePolicy } from './remote-call.js';
import { connectTo, messageTurn, partsOf, type RemoteTurn, settle, turnOf } from './remote-client.js';

/** Options of {@link remoteAgent}. */
export interface RemoteAgentOptions {
  /** Where the agent is: the base URL its card is under (`<url>/.well-known/agent-card.json`), or the card's own URL (`….json`). */
  url: string;
  /** The member's name (its journal steps, `human:<name>` for its questions). Default: from the URL. */
  name?: string;
  /** What it does, for supervisors, LLM selectors and the model when it is a tool. Default: one naming the URL. */
  description?: string;
  /** A bearer token sent as `Authorization: Bearer <token>` (a Baton API key for a Baton server). */
  token?: string;
  /** Headers for every request (the card's too), or a function that makes them for each request. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** Per attempt of each call (sending a message, waiting for its task). Default 300000. */
  timeoutMs?: number;
  /** Retries of transient failures (network errors, timeouts, HTTP 408/409/429/5xx). Default 3 attempts. */
  retry?: RetryOptions;
  /** Cap on this agent's calls in flight across the runs of a runtime. */
  maxConcurrent?: number;
  /** `false`: no circuit breaker. Default: the breaker of the tool `a2a:<name>` (configureResilience `tools`). */
  breaker?: boolean;
  /** How often a task is read while it works, when the agent cannot stream. Default 1000. */
  pollMs?: number;
  /**
   * A remote task that needs input: `ask` (default) waits durably for a person, the signal
   * `human:<name>` (as a `human()` member; `baton reply <run> <name> …`), and sends the answer to the
   * task; `fail` fails with `REMOTE_INPUT_REQUIRED`.
   */
  onInputRequired?: 'ask' | 'fail';
  version?: string;
}

/** A remote A2A agent: a workflow whose output is the agent's answer (its text, or its one data part). */
export interface RemoteAgent extends Workflow<unknown, unknown> {
  readonly remote: true;
  readonly url: string;
  readonly description: string;
  /** The agent as a tool (`{ input: string }`), run as a child run like any agent's `asTool()`. */
  asTool(options?: { name?: string; description?: string }): Tool<{ input: string }, unknown>;
}

const answerSchema = lazySchema((z) => z.union([z.string(), z.object({ text: z.string() })]));

const remoteOptionNames = optionNames<RemoteAgentOptions>(
  {
    url: true,
    name: true,
    description: true,
    token: true,
    headers: true,
    timeoutMs: true,
    retry: true,
    maxConcurrent: true,
    breaker: true,
    pollMs: true,
    onInputRequired: true,
    version: true,
  },
  { timeout: 'timeoutMs', auth: 'token', apiKey: 'token' },
);

/**
 * An A2A agent at `url` as a member of any pattern (where an agent can be) or as a tool
 * (`.asTool()`). A call sends the input as a message (a string as text, anything else as a
 * data part), then follows the task until it ends: each is a journaled step (`a2a:<name>`,
 * `a2a-wait:<name>`), so a replay after a crash never sends a finished call again, and each runs
 * with a timeout per attempt, retries of transient failures, a circuit breaker and an optional
 * concurrency cap. A task that needs input becomes a durable wait for a person (the signal
 * `human:<name>`), whose answer is sent to the task. Calls of one run share an A2A context.
 *
 * @example
 * ```ts
 * const researcher = remoteAgent({ url: 'https://research.example.com/a2a/researcher', token: process.env.RESEARCH_KEY, description: 'Finds sources' });
 * const team = sequential({ name: 'report', stages: [researcher, writer] });
 * const lead = agent({ name: 'lead', model, instructions: 'Delegate research.', tools: [researcher.asTool()] });
 * ```
 */
export function remoteAgent(options: RemoteAgentOptions): RemoteAgent {
  const where = `remoteAgent(${JSON.stringify(options?.url)})`;
  if (typeof options?.url !== 'string')
    throw new ConfigError(`${where}: url is required (the agent's base URL or card URL).`);
  checkOptionNames(where, options, remoteOptionNames);
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new ConfigError(`${where}: url is not a URL.`);
  }
  const name = options.name ?? nameFrom(parsed);
  assertName('remoteAgent', name);
  checkRetry(`${where}: retry`, options.retry);
  for (const field of ['timeoutMs', 'pollMs', 'maxConcurrent'] as const) {
    const value = options[field];
    if (value !== undefined && !(typeof value === 'number' && value > 0))
      throw new ConfigError(`${where}: ${field} must be a positive number.`);
  }
  if (
    options.onInputRequired !== undefined &&
    options.onInputRequired !== 'ask' &&
    options.onInputRequired !== 'fail'
  )
    throw new ConfigError(`${where}: onInputRequired must be 'ask' or 'fail'.`);
  const description = options.description ?? `The remote A2A agent at ${options.url}.`;
  const policy: RemotePolicy = {
    name,
    url: options.url,
    timeoutMs: options.timeoutMs ?? 300_000,
    retry: options.retry,
    maxConcurrent: options.maxConcurrent,
    breaker: options.breaker !== false,
  };
  const pollMs = options.pollMs ?? 1000;
  const signal = `human:${name}`;
  let connecting: Promise<Client> | undefined;
  const connect = (): Promise<Client> => {
    connecting ??= connectTo(options, name).catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  const definition: RemoteAgent = {
    kind: 'workflow',
    remote: true,
    name,
    version: options.version ?? '1',
    url: options.url,
    description,
    async execute(ctx: RunContext, input: unknown): Promise<unknown> {
      const contextId = `baton-${createHash('sha256').update(`${ctx.runId}\n${name}`).digest('hex').slice(0, 32)}`;
      const call = (
        step: string,
        run: (client: Client, signal: AbortSignal, key: string) => Promise<RemoteTurn>,
      ) =>
        ctx.step<RemoteTurn>(
          step,
          async (stepContext) => {
            let attempts = 1;
            const turn = await callRemote(
              ctx,
              stepContext,
              definition,
              policy,
              async (abort) => run(await connect(), abort, stepContext.idempotencyKey),
              (made) => {
                attempts = made;
              },
            );
            return attempts > 1 ? { ...turn, attempts } : turn;
          },
          {
            meta: (turn) => ({
              agent: name,
              a2a: options.url,
              ...(turn.taskId === undefined ? {} : { taskId: turn.taskId }),
              ...(turn.state === undefined ? {} : { state: turn.state }),
              ...((turn as { attempts?: number }).attempts === undefined
                ? {}
                : { attempts: (turn as { attempts?: number }).attempts }),
            }),
          },
        );
      const send = (parts: Part[], taskId: string | undefined) =>
        call(`a2a:${name}`, async (client, abort, key) => {
          const message: Message = {
            messageId: `baton-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`,
            contextId,
            taskId: taskId ?? '',
            role: Role.ROLE_USER,
            parts,
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          };
          const answer = await client.sendMessage(
            {
              tenant: '',
              message,
              configuration: {
                acceptedOutputModes: [],
                taskPushNotificationConfig: undefined,
                returnImmediately: true,
              },
              metadata: undefined,
            },
            { signal: abort },
          );
          return 'messageId' in answer ? messageTurn(answer) : turnOf(answer);
        });

      let turn = await send(partsOf(input), undefined);
      for (;;) {
        if (turn.kind === 'message' || turn.state === 'completed') return turn.output;
        const taskId = turn.taskId as string;
        if (turn.state === 'failed' || turn.state === 'rejected' || turn.state === 'canceled') {
          throw Object.assign(
            new RemoteAgentError(
              `Remote agent ${name}: its task ${taskId} ${turn.state === 'failed' ? 'failed' : `was ${turn.state}`}${turn.note ? `: ${turn.note}` : '.'}`,
              {
                agent: name,
                code: 'REMOTE_AGENT_FAILED',
              },
            ),
            { runId: ctx.runId },
          );
        }
        if (turn.state === 'input_required' || turn.state === 'auth_required') {
          if (options.onInputRequired === 'fail' || turn.state === 'auth_required') {
            throw Object.assign(
              new RemoteAgentError(
                `Remote agent ${name} needs ${turn.state === 'auth_required' ? 'authentication' : 'input'} for task ${taskId}${turn.note ? `: ${turn.note}` : '.'}`,
                { agent: name, code: 'REMOTE_INPUT_REQUIRED' },
              ),
              { runId: ctx.runId },
            );
          }
          await ctx.step(
            `ask:${name}`,
            () => {
              const request = {
                member: name,
                description,
                signal,
                prompt: `${name} (remote agent) asks:`,
                input: turn.note ?? '(no question given)',
              };
              ctx.emit({ name: 'human-input-requested', data: request });
              return request;
            },
            { meta: { human: name } },
          );
          const payload = await ctx.waitFor<string | { text: string }>(signal, { schema: answerSchema() });
          turn = await send(partsOf(typeof payload === 'string' ? payload : payload.text), taskId);
          continue;
        }
        turn = await call(`a2a-wait:${name}`, async (client, abort) =>
          turnOf(await settle(client, taskId, pollMs, abort)),
        );
      }
    },
    asTool(toolOptions = {}) {
      return runnableTool(definition as Runnable<string, unknown>, {
        description: toolOptions.description ?? description,
        ...(toolOptions.name === undefined ? {} : { name: toolOptions.name }),
      });
    },
  };
  return definition;
}

/** A name from a URL: host, port and path, with other characters as `-`. */
function nameFrom(url: URL): string {
  const raw = `${url.hostname}${url.port === '' ? '' : `-${url.port}`}${url.pathname.replace(/\.well-known\/agent-card\.json$/, '')}`;
  return raw.replace(/[^\w.-]+/g, '-').replace(/^[^A-Za-z0-9]+|[-.]+$/g, '');
}
