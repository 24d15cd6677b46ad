/** Pattern eventDriven: members subscribe to topics; events flow from the start topic until the end topic. */

import { z } from 'zod';
import { eventDriven } from '../../patterns/event-driven.js';
import { compact } from '../build-parts.js';
import { memberReference, wholeNumber } from '../team-schema-parts.js';
import { anyMember } from '../team-words.js';
import type { DataPath } from '../yaml-source.js';
import { asTeamRunnable, definePattern } from './pattern-module.js';

const subscriberSchema = z
  .strictObject(
    {
      member: memberReference.describe('The agent, team or human that handles the events.'),
      topics: z
        .array(z.string({ error: 'expected a topic name (a string)' }), {
          error: 'expected a list of topics',
        })
        .min(1, { error: 'list at least one topic' })
        .describe('Topics whose events the member receives.'),
      publishes: z
        .string({ error: 'expected a topic name (a string)' })
        .optional()
        .describe('The topic the member’s output is published to. Default: the output is dropped.'),
    },
    { error: 'expected a subscriber: { member, topics, publishes? }' },
  )
  .describe('A member of an event-driven team and the topics it listens to.');

const topicPattern = /^[A-Za-z0-9][\w.:/-]{0,99}$/;

/** The eventDriven pattern of team files. */
export const eventDrivenPattern = definePattern({
  kind: 'eventDriven',
  fields: {
    subscribers: z
      .array(subscriberSchema, { error: 'expected a list of subscribers' })
      .min(1, { error: 'list at least one subscriber' })
      .optional()
      .describe('eventDriven: who listens to which topics and where their output goes.'),
    start: z
      .string({ error: 'expected a topic name (a string)' })
      .optional()
      .describe('eventDriven: the topic the run input is published to. Default input.'),
    until: z
      .string({ error: 'expected a topic name (a string)' })
      .optional()
      .describe('eventDriven: the first event on this topic ends the run; its data is the output.'),
    maxEvents: wholeNumber()
      .min(1)
      .optional()
      .describe('eventDriven: events in one run before it fails with MAX_EVENTS. Default 100.'),
  },
  required: { subscribers: 'a list of { member, topics, publishes }.' },
  check({ team, problem, keyProblem, reference }) {
    const topicName = (path: DataPath, topic: string): void => {
      if (!topicPattern.test(topic))
        problem(
          path,
          `"${topic}" is not a topic name; use 1 to 100 letters, digits, '_', '-', '.', ':' or '/', starting with a letter or digit.`,
        );
    };
    const seen = new Set<string>();
    for (const [index, subscriber] of (team.subscribers ?? []).entries()) {
      reference(['subscribers', index, 'member'], subscriber.member, anyMember, 'a subscriber’s member');
      if (seen.has(subscriber.member))
        problem(
          ['subscribers', index, 'member'],
          `"${subscriber.member}" subscribes twice; list all its topics in one subscriber.`,
        );
      seen.add(subscriber.member);
      for (const [position, topic] of subscriber.topics.entries())
        topicName(['subscribers', index, 'topics', position], topic);
      if (subscriber.publishes !== undefined)
        topicName(['subscribers', index, 'publishes'], subscriber.publishes);
    }
    if (team.start !== undefined) topicName(['start'], team.start);
    if (team.until !== undefined) topicName(['until'], team.until);
    const start = team.start ?? 'input';
    if (team.until !== undefined && team.until === start)
      problem(['until'], `until is the start topic "${start}"; the run would end on its own input.`);
    const subscribers = team.subscribers ?? [];
    if (subscribers.length > 0 && !subscribers.some((subscriber) => subscriber.topics.includes(start)))
      keyProblem(
        [],
        team.start === undefined ? 'subscribers' : 'start',
        `no subscriber listens to the start topic "${start}", so the input would reach nobody; add it to a subscriber's topics${team.start === undefined ? ' or set start:' : ''}.`,
      );
  },
  build({ definition, version, member }) {
    return asTeamRunnable(
      eventDriven({
        name: definition.name,
        version,
        subscribers: (definition.subscribers ?? []).map((subscriber) => ({
          member: member(subscriber.member),
          topics: subscriber.topics,
          ...compact({ publishes: subscriber.publishes }),
        })),
        ...compact({ start: definition.start, until: definition.until, maxEvents: definition.maxEvents }),
      }),
    );
  },
  memberReferences: (definition) =>
    (definition.subscribers ?? []).map((subscriber, index) => ({
      path: ['subscribers', index, 'member'],
      name: subscriber.member,
    })),
});
