/** The runs the run-page tests open: a parent with child runs and a failing tool, a magentic team, a group chat, an agent whose guardrails redact an email, a pipeline to resume after a crash. */

import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { agent, groupChat, magentic, redactPii, tool, workflow } from '../../src/index.js';
import { type ScriptedRequest, scriptedModel } from '../../src/testing/index.js';

/** The email the redaction test looks for: it must never reach the browser. */
export const secretEmail = 'jane.doe@example.com';

/** billing looks an order up, then charges a card that is declined (a tool failure the model reads), then answers. */
function billingAgent() {
  const lookup = tool({
    name: 'lookup_order',
    description: 'Finds an order',
    input: z.object({ orderId: z.string() }),
    execute: async ({ orderId }) => {
      await sleep(20);
      return { orderId, amount: 40 };
    },
  });
  const charge = tool({
    name: 'charge_card',
    description: 'Charges a card',
    input: z.object({ amount: z.number() }),
    execute: async () => {
      await sleep(10);
      throw new Error('card declined by the issuer');
    },
  });
  return agent({
    name: 'billing',
    instructions: 'Bill the order.',
    tools: [lookup, charge],
    model: scriptedModel([
      { delayMs: 30, toolCalls: [{ tool: 'lookup_order', input: { orderId: 'A-7' } }] },
      { delayMs: 20, toolCalls: [{ tool: 'charge_card', input: { amount: 40 } }] },
      { delayMs: 20, text: 'The card was declined; I asked the customer for another.' },
    ]),
  });
}

/** A parent workflow: a child workflow (`prepare`), then the billing agent as a child run. */
export const checkout = workflow({ name: 'checkout' }, async (ctx, input: { orderId: string }) => {
  const prepare = workflow({ name: 'prepare' }, async (child) => {
    await child.step('validate', async () => {
      await sleep(15);
      return true;
    });
    return child.step('reserve', async () => {
      await sleep(25);
      return `reserved ${input.orderId}`;
    });
  });
  const reserved = await ctx.run(prepare, {});
  const billed = await ctx.run(billingAgent(), `Bill ${input.orderId}`);
  return { reserved, billed };
});

const factsAndPlan = JSON.stringify({
  facts: {
    given: ['the customer was charged twice for A-1001'],
    toLookUp: ['the two charges on A-1001'],
    toDerive: ['which charge is the duplicate'],
    guesses: ['a retry by the payment page'],
  },
  plan: ['researcher: find both charges', 'billing: refund the duplicate'],
});

const progress = (done: boolean, speaker: string, instruction: string) =>
  JSON.stringify({
    requestSatisfied: { answer: done, reason: done ? 'the refund is made' : 'no refund yet' },
    inLoop: { answer: false, reason: 'each round adds something' },
    progressBeingMade: { answer: true, reason: 'new facts came in' },
    nextSpeaker: { answer: speaker, reason: `${speaker} can do it` },
    instruction: { answer: instruction, reason: 'the next step of the plan' },
  });

/** The first user message of a request (which ledger the manager is asked for). */
function askedFor(request: ScriptedRequest): string {
  const message = request.prompt.find((item) => item.role === 'user');
  return message?.role === 'user'
    ? message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
    : '';
}

/** A magentic team: a manager, a researcher and billing; three progress rounds, then the answer. */
export function refundTeam() {
  const manager = scriptedModel((request) => {
    const text = askedFor(request);
    if (text.startsWith('# Task ledger')) return { delayMs: 20, text: factsAndPlan };
    if (text.startsWith('# Final answer')) return { delayMs: 20, text: 'Refunded the duplicate charge.' };
    const round = Number(/^# Progress check \(round (\d+)\)/.exec(text)?.[1] ?? 0);
    if (round === 1)
      return { delayMs: 20, text: progress(false, 'researcher', 'Find both charges on A-1001.') };
    if (round === 2) return { delayMs: 20, text: progress(false, 'billing', 'Refund charge ch_2.') };
    return { delayMs: 20, text: progress(true, 'billing', 'Nothing left to do.') };
  });
  const member = (name: string, reply: string) =>
    agent({
      name,
      description: `${name} of the team`,
      instructions: 'Do as asked.',
      model: scriptedModel([{ delayMs: 25, text: reply }]),
    });
  return magentic({
    name: 'refund-team',
    manager,
    members: [
      member('researcher', 'Two charges: ch_1 and ch_2, one minute apart.'),
      member('billing', 'Refunded ch_2.'),
    ],
  });
}

/** A group chat of a writer and a critic, three rounds round robin. */
export function namingChat() {
  const model = scriptedModel(({ agent: name, turn }) => ({
    delayMs: 20,
    text:
      name === 'writer'
        ? (['How about "Baton"?', 'Then "Relay": it says hand-over.'][turn] ?? 'Agreed.')
        : (['Short, but it is taken on npm.', 'Relay works. Ship it.'][turn] ?? 'Done.'),
  }));
  const writer = agent({ name: 'writer', instructions: 'Propose names.', model });
  const critic = agent({ name: 'critic', instructions: 'Criticise names.', model });
  return groupChat({ name: 'naming', members: [writer, critic], maxRounds: 3 });
}

/** An intake agent whose guardrails redact personal data; its tool returns an email, and so does its answer. */
export function intake() {
  const lookup = tool({
    name: 'lookup_customer',
    description: 'Finds a customer',
    input: z.object({ id: z.string() }),
    execute: async ({ id }) => ({ id, email: secretEmail, plan: 'pro' }),
  });
  return agent({
    name: 'intake',
    instructions: 'Look the customer up.',
    tools: [lookup],
    guardrails: [redactPii()],
    model: scriptedModel([
      { delayMs: 20, toolCalls: [{ tool: 'lookup_customer', input: { id: 'C-7' } }] },
      { delayMs: 20, text: `Write to ${secretEmail} about the pro plan.` },
    ]),
  });
}

/** Four steps in a row; the resume test stores the first two as a crashed process left them. */
export const pipeline = workflow({ name: 'pipeline' }, async (ctx) => {
  const results: string[] = [];
  for (const name of ['collect', 'price', 'reserve', 'ship'])
    results.push(
      await ctx.step(name, async () => {
        await sleep(20);
        return `${name} done`;
      }),
    );
  return results.join(', ');
});
