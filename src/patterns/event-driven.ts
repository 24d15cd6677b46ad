/** eventDriven(): members subscribe to topics and publish events on a durable, replayable per-run topic bus. */

import type { Agent, AnyTool } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import type { AgentInput } from '../context/messages.js';
import { BatonError, ConfigError, errorMessage } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { loadZod } from '../core/load-zod.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import type { JournalEntry } from '../core/store.js';
import { isBudgetStop } from '../governance/budget.js';
import { tool } from '../tools/tool.js';
import { announceEnd, announceStart, checkCount, checkRunnable, textOf } from './shared.js';

/** One event on a topic. */
export interface TopicEvent {
  topic: string;
  /** Position in its topic: 0 for the topic's first event, then increasing by 1. */
  offset: number;
  data: unknown;
  /** The member that published it; absent for the run input published to the start topic. */
  from?: string;
}

/**
 * A run's topics. Every publish must be durable and replayable (the in-process bus journals
 * each one as a step), so a replay after a crash rebuilds the same topics with the same
 * offsets. A distributed bus can implement the same interface later.
 *
 * @example
 * ```ts
 * const bus = createTopicBus(ctx);
 * const off = bus.subscribe('drafts', (event) => console.log(event.offset, event.data));
 * await bus.publish('drafts', 'first draft', 'writer');
 * const all = await bus.read('drafts', 0);
 * off();
 * ```
 */
export interface TopicBus {
  /** Appends an event to a topic and tells the topic's subscribers; resolves with the event once it is durable. */
  publish(topic: string, data: unknown, from?: string): Promise<TopicEvent>;
  /** The topic's events from `fromOffset` (default 0) on, in offset order. */
  read(topic: string, fromOffset?: number): Promise<TopicEvent[]>;
  /** Calls `listener` with every event published to `topic` from now on; returns the function that unsubscribes. */
  subscribe(topic: string, listener: (event: TopicEvent) => void): () => void;
  /** Topics that have at least one event, in order of their first event. */
  topics(): string[];
}

/** Options of `createTopicBus`. */
export interface TopicBusOptions {
  /** Recorded in each publish step's meta as `name` (the event-driven pattern's name), so `readTopic` can tell buses apart. */
  name?: string;
}

const topicPattern = /^[A-Za-z0-9][\w.:/-]{0,99}$/;

/** Checks a topic name, with an error naming where it was found. */
function checkTopic(where: string, field: string, topic: unknown): string {
  if (typeof topic !== 'string' || !topicPattern.test(topic))
    throw new ConfigError(
      `${where}: ${field} ${JSON.stringify(topic) ?? String(topic)} is not a topic name; use 1 to 100 letters, digits, '_', '-', '.', ':' or '/', starting with a letter or digit.`,
    );
  return topic;
}

/**
 * The in-process topic bus of one run. `publish` journals the event as a step named
 * `publish:<topic>` (result: the event; meta: `{ topic, offset, from, pattern: 'eventDriven',
 * name }`) in the scope of `ctx`, so topics are rebuilt on replay and readable from the
 * journal with `readTopic`. Offsets are assigned in publish order. Listeners are called
 * synchronously after the event is durable, in subscription order.
 *
 * @example
 * ```ts
 * const flow = workflow({ name: 'pipeline' }, async (ctx, input: string) => {
 *   const bus = createTopicBus(ctx, { name: 'pipeline' });
 *   await bus.publish('raw', input);
 *   return (await bus.read('raw')).map((event) => event.data);
 * });
 * ```
 */
export function createTopicBus(ctx: RunContext, options: TopicBusOptions = {}): TopicBus {
  const logs = new Map<string, TopicEvent[]>();
  const next = new Map<string, number>();
  const listeners = new Map<string, Array<(event: TopicEvent) => void>>();
  return {
    async publish(topic, data, from) {
      checkTopic('createTopicBus', 'topic', topic);
      const offset = next.get(topic) ?? 0;
      next.set(topic, offset + 1);
      const planned: TopicEvent = { topic, offset, data: data ?? null };
      if (from !== undefined) planned.from = from;
      const event = await ctx.step(`publish:${topic}`, () => planned, {
        meta: {
          topic,
          offset,
          ...(from === undefined ? {} : { from }),
          pattern: 'eventDriven',
          ...(options.name === undefined ? {} : { name: options.name }),
        },
      });
      let log = logs.get(topic);
      if (log === undefined) {
        log = [];
        logs.set(topic, log);
      }
      log.push(event);
      for (const listener of listeners.get(topic) ?? []) listener(event);
      return event;
    },
    async read(topic, fromOffset = 0) {
      return (logs.get(topic) ?? []).filter((event) => event.offset >= fromOffset);
    },
    subscribe(topic, listener) {
      listeners.set(topic, [...(listeners.get(topic) ?? []), listener]);
      return () => {
        listeners.set(
          topic,
          (listeners.get(topic) ?? []).filter((existing) => existing !== listener),
        );
      };
    },
    topics() {
      return [...logs.keys()];
    },
  };
}

/**
 * A topic of a run (finished or still running) from `fromOffset` on, rebuilt from the run's
 * journal: every `publish:<topic>` step of the in-process bus. When one run holds several
 * event-driven patterns, pass `options.name` to read only that pattern's topic.
 *
 * @example
 * ```ts
 * const handle = await runtime.start(newsroom, 'Election night');
 * await handle.result();
 * const drafts = await readTopic(runtime, handle.runId, 'drafts', 1); // every draft after the first
 * ```
 */
export async function readTopic(
  source: { journal(runId: string): Promise<JournalEntry[]> },
  runId: string,
  topic: string,
  fromOffset = 0,
  options: { name?: string } = {},
): Promise<TopicEvent[]> {
  const entries = await source.journal(runId);
  const name = `publish:${topic}`;
  const events: TopicEvent[] = [];
  for (const entry of entries) {
    if (entry.name !== name || entry.status !== 'completed' || entry.meta?.topic !== topic) continue;
    if (options.name !== undefined && entry.meta.name !== options.name) continue;
    const event = entry.result as TopicEvent;
    if (event.offset >= fromOffset) events.push(event);
  }
  return events.sort((a, b) => a.offset - b.offset);
}

/** A member of an event-driven team: what it listens to and where its output goes. */
export interface Subscriber {
  /** An agent, workflow or pattern; it runs once per event on any of its topics. */
  member: AnyRunnable;
  /** Topics it receives events from. */
  topics: readonly string[];
  /** The topic its output is published to; without it the output is dropped (it can still publish explicitly). */
  publishes?: string;
  /**
   * Builds the member's input from the event. Default: the event's data (as text for an
   * agent). Must be pure: it runs again on replay.
   */
  input?: (event: TopicEvent) => unknown;
}

/** Options of `eventDriven()`. */
export interface EventDrivenOptions {
  name: string;
  version?: string;
  subscribers: readonly Subscriber[];
  /** The topic the run input is published to. Default `'input'`. */
  start?: string;
  /** The first event on this topic ends the run; its data is the output. */
  until?: string;
  /** Events published in one run (the input included) before it fails with `MAX_EVENTS`. Default 100. */
  maxEvents?: number;
  /**
   * Makes the run's bus. Default `createTopicBus(ctx, { name })`. A replacement must make
   * publishes durable and replayable in the same way; `readTopic` reads the default bus's journal.
   */
  bus?: (ctx: RunContext, name: string) => TopicBus;
}

/** The output of an event-driven run that ended without an `until` event. */
export interface EventDrivenResult {
  /** Every topic's event data, in offset order. */
  topics: Record<string, unknown[]>;
}

interface Delivery {
  output: unknown;
  /** Explicit `publish` tool calls, in the order the model made them. */
  published: Array<{ topic: string; data: unknown }>;
}

const eventDrivenOptionNames = optionNames<EventDrivenOptions>({
  name: true,
  version: true,
  subscribers: true,
  start: true,
  until: true,
  maxEvents: true,
  bus: true,
});

/**
 * An event-driven team. The run input is published to the `start` topic; each event is
 * delivered to every subscriber of its topic, and a subscriber's output is published to its
 * `publishes` topic. Agent members also get a `publish` tool (`{ topic, data }`) to publish
 * explicitly. The run ends at the first event on `until` (its data is the output) or, when
 * the queue drains, with `{ topics }`.
 *
 * Delivery is deterministic: events are delivered one at a time in FIFO order; the
 * subscribers of one event run concurrently in parallel branches (each its own journal scope);
 * when all are done, their publishes are made in subscriber order (each member's explicit
 * publishes in call order, then its output). Every publish is a journaled step, so a resumed
 * run rebuilds its topics without repeating finished model calls.
 *
 * @example
 * ```ts
 * const newsroom = eventDriven({
 *   name: 'newsroom',
 *   subscribers: [
 *     { member: reporter, topics: ['input'], publishes: 'drafts' },
 *     { member: editor, topics: ['drafts'], publishes: 'edited' },
 *     { member: factChecker, topics: ['drafts'], publishes: 'checks' },
 *     { member: publisher, topics: ['edited'], publishes: 'published' },
 *   ],
 *   until: 'published',
 * });
 * const story = await (await runtime.start(newsroom, 'Storm hits the coast')).result();
 * ```
 */
export function eventDriven<OUTPUT = unknown>(
  options: EventDrivenOptions,
): Runnable<unknown, OUTPUT | EventDrivenResult> {
  assertName('pattern', options?.name);
  checkOptionNames(`eventDriven("${options.name}")`, options, eventDrivenOptionNames);
  const where = `eventDriven("${options.name}")`;
  if (!Array.isArray(options.subscribers) || options.subscribers.length === 0)
    throw new ConfigError(
      `${where}: subscribers must be a non-empty array of { member, topics, publishes? }.`,
    );
  const start = checkTopic(where, 'start', options.start ?? 'input');
  const until = options.until === undefined ? undefined : checkTopic(where, 'until', options.until);
  if (until === start)
    throw new ConfigError(
      `${where}: until and start are both "${start}"; the run would end on its own input.`,
    );
  const maxEvents = checkCount(where, 'maxEvents', options.maxEvents, 100);
  if (options.bus !== undefined && typeof options.bus !== 'function')
    throw new ConfigError(`${where}: bus must be a function (ctx, name) => TopicBus.`);
  const seen = new Set<string>();
  const subscribers = options.subscribers.map((entry, index) => {
    const field = `subscribers[${index}]`;
    if (typeof entry !== 'object' || entry === null)
      throw new ConfigError(`${where}: ${field} must be { member, topics, publishes? }.`);
    const member = checkRunnable(where, `${field}.member`, entry.member);
    if (seen.has(member.name))
      throw new ConfigError(
        `${where}: two subscribers are "${member.name}"; list every topic of a member in one subscriber's topics.`,
      );
    seen.add(member.name);
    if (!Array.isArray(entry.topics) || entry.topics.length === 0)
      throw new ConfigError(`${where}: ${field}.topics must be a non-empty array of topic names.`);
    const topics = (entry.topics as readonly unknown[]).map((topic, topicIndex) =>
      checkTopic(where, `${field}.topics[${topicIndex}]`, topic),
    );
    const publishes =
      entry.publishes === undefined ? undefined : checkTopic(where, `${field}.publishes`, entry.publishes);
    if (entry.input !== undefined && typeof entry.input !== 'function')
      throw new ConfigError(`${where}: ${field}.input must be a function (event) => input.`);
    if (member.kind === 'agent' && (member as Agent<unknown>).tools.some((own) => own.name === 'publish'))
      throw new ConfigError(
        `${where}: ${field}.member ("${member.name}") has its own tool named "publish", which clashes with the publish tool this pattern gives agents; rename that tool.`,
      );
    return { member, topics, publishes, input: entry.input };
  });
  if (!subscribers.some((subscriber) => subscriber.topics.includes(start)))
    throw new ConfigError(
      `${where}: no subscriber listens to the start topic "${start}", so the input would reach nobody.`,
    );
  const subscribed = [...new Set(subscribers.flatMap((subscriber) => subscriber.topics))];
  const known = [...new Set([...subscribed, ...(until === undefined ? [] : [until])])];
  const { z } = loadZod();
  const publishTool = tool({
    name: 'publish',
    description:
      `Publish an event on the "${options.name}" bus. Its subscribers receive the data after you finish. ` +
      `Topics with subscribers${until === undefined ? '' : ' (or that end the run)'}: ${known.join(', ')}.`,
    input: z.object({
      topic: z.string().describe('The topic to publish to'),
      data: z.unknown().describe('The event data: text or any JSON value'),
    }),
    execute: ({ topic }) => `Queued for topic "${topic}"; delivered when you finish.`,
    idempotent: true,
    // Publishing on the pattern's own bus needs no capability.
    capabilities: [],
  });
  const extraTools = (): readonly AnyTool[] => [publishTool];
  const memberNames = subscribers.map((subscriber) => subscriber.member.name);
  const makeBus = options.bus ?? ((ctx: RunContext, name: string) => createTopicBus(ctx, { name }));

  async function deliver(
    branch: RunContext,
    subscriber: (typeof subscribers)[number],
    event: TopicEvent,
    turnCounter: Map<string, number>,
  ): Promise<Delivery> {
    const { member } = subscriber;
    const isAgent = member.kind === 'agent';
    const input =
      subscriber.input !== undefined ? subscriber.input(event) : isAgent ? textOf(event.data) : event.data;
    if (!isAgent) return { output: await branch.run(member, input), published: [] };
    const published: Delivery['published'] = [];
    const result = await runAgent(branch, member as Agent<unknown>, input as AgentInput, {
      extraTools,
      turnCounter,
      // Called on every execution and replay in the model's order, so the list is the same on replay.
      beforeToolCall: (_agent, called, toolInput) => {
        if (called !== publishTool) return undefined;
        const { topic, data } = toolInput as { topic: string; data?: unknown };
        if (!topicPattern.test(topic))
          return `"${topic}" is not a topic name: use letters, digits, '_', '-', '.', ':' or '/'. Topics with subscribers: ${known.join(', ')}.`;
        published.push({ topic, data: data ?? null });
        return undefined;
      },
    });
    return { output: result.output, published };
  }

  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: unknown): Promise<OUTPUT | EventDrivenResult> {
      announceStart(ctx, 'eventDriven', options.name, memberNames);
      const bus = makeBus(ctx, options.name);
      const queue: TopicEvent[] = [];
      for (const topic of subscribed) bus.subscribe(topic, (event) => queue.push(event));
      let count = 0;
      let ended: TopicEvent | undefined;
      const publish = async (topic: string, data: unknown, from?: string): Promise<void> => {
        if (ended !== undefined) return;
        if (count >= maxEvents) {
          announceEnd(ctx, 'eventDriven', options.name, 'max events');
          throw new BatonError(
            `${where}: more than ${maxEvents} events in one run (the next was on "${topic}" from ${from === undefined ? 'the input' : `"${from}"`}); the subscribers keep triggering each other. Break the loop or raise maxEvents.`,
            { code: 'MAX_EVENTS', fault: 'user', runId: ctx.runId },
          );
        }
        count++;
        const event = await bus.publish(topic, data, from);
        if (ctx.observed) ctx.emit({ name: 'topic-event', data: event });
        if (topic === until) ended = event;
      };

      await publish(start, input);
      const turnCounter = new Map<string, number>();
      while (ended === undefined && queue.length > 0) {
        const event = queue.shift()!;
        const targets = subscribers.filter((subscriber) => subscriber.topics.includes(event.topic));
        const settled = await ctx.parallelSettled(
          targets.map(
            (subscriber) => (branch: RunContext) => deliver(branch, subscriber, event, turnCounter),
          ),
        );
        for (const [index, outcome] of settled.entries()) {
          if (outcome.status === 'fulfilled') continue;
          const error: unknown = outcome.reason;
          if (isInterruption(error, ctx) || isBudgetStop(error)) throw error;
          const member = targets[index]!.member.name;
          announceEnd(ctx, 'eventDriven', options.name, 'failed');
          throw new BatonError(
            `${where}: subscriber "${member}" failed on event ${event.offset} of "${event.topic}": ${errorMessage(error)}`,
            {
              code: 'SUBSCRIBER_FAILED',
              fault: BatonError.isInstance(error) ? error.fault : 'system',
              runId: ctx.runId,
              cause: error,
            },
          );
        }
        for (const [index, subscriber] of targets.entries()) {
          const delivery = (settled[index] as PromiseFulfilledResult<Delivery>).value;
          for (const explicit of delivery.published)
            await publish(explicit.topic, explicit.data, subscriber.member.name);
          if (subscriber.publishes !== undefined)
            await publish(subscriber.publishes, delivery.output, subscriber.member.name);
        }
      }
      if (ended !== undefined) {
        announceEnd(ctx, 'eventDriven', options.name, `event on "${ended.topic}"`);
        return ended.data as OUTPUT;
      }
      const topics: Record<string, unknown[]> = {};
      for (const topic of bus.topics()) topics[topic] = (await bus.read(topic, 0)).map((event) => event.data);
      announceEnd(ctx, 'eventDriven', options.name, `drained after ${count} events`);
      return { topics };
    },
  };
}
