/** The runs the dashboard tests watch: a support team with a handoff and an approval, an order that waits, a failing job, a review by a person, a run of many steps. */

import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { agent, createPriceTable, human, sequential, tool, transfer, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** Prices for the scripted model, so runs have a cost to show. */
export const prices = createPriceTable({ 'scripted:demo-model': { input: 3, output: 15 } });

/**
 * A support team: support (triage) hands off to billing, which looks the order up and refunds it (the
 * refund waits for approval). `refunds` records each refund made.
 */
export function supportTeam(refunds: string[]) {
  const lookupOrder = tool({
    name: 'lookup_order',
    description: 'Finds an order',
    input: z.object({ orderId: z.string() }),
    execute: async ({ orderId }) => {
      await sleep(30);
      return { orderId, amount: 40, charges: 2, status: 'delivered' };
    },
  });
  const refund = tool({
    name: 'refund',
    description: 'Refunds an amount',
    input: z.object({ orderId: z.string(), amount: z.number() }),
    approval: 'always',
    execute: async ({ orderId, amount }) => {
      await sleep(20);
      refunds.push(`${orderId} ${amount}`);
      return { refundId: `RF-${orderId}`, amount };
    },
  });
  const model = scriptedModel(
    ({ agent: name, turn }) => {
      const usage = { inputTokens: 380 + turn * 120, outputTokens: 40 + turn * 12 };
      if (name === 'support')
        return { delayMs: 40, usage, toolCalls: [{ tool: 'transfer_to_billing', input: {} }] };
      if (turn === 0)
        return {
          delayMs: 60,
          usage,
          toolCalls: [{ tool: 'lookup_order', input: { orderId: 'A-1001' }, id: 'call_lookup' }],
        };
      if (turn === 1)
        return {
          delayMs: 50,
          usage,
          toolCalls: [{ tool: 'refund', input: { orderId: 'A-1001', amount: 40 }, id: 'call_refund' }],
        };
      return { delayMs: 30, usage, text: 'Refunded the duplicate charge of $40 on A-1001.' };
    },
    { modelId: 'demo-model' },
  );
  const billing = agent({ name: 'billing', instructions: 'Refund.', tools: [lookupOrder, refund], model });
  return agent({
    name: 'support',
    instructions: 'Route the customer.',
    model,
    handoffs: [transfer(billing)],
  });
}

/** An order: three steps, a wait for `go`, three more; each step takes a little while. */
export const order = workflow({ name: 'order' }, async (ctx, input: { amount: number }) => {
  for (const name of ['check', 'price', 'reserve'])
    await ctx.step(name, async () => {
      await sleep(15);
      return `${name} ${input.amount}`;
    });
  const answer = await ctx.waitFor<{ approved: boolean }>('go', {
    schema: z.object({ approved: z.boolean() }),
  });
  for (const name of ['charge', 'ship', 'notify'])
    await ctx.step(name, async () => {
      await sleep(25);
      return `${name} ${answer.approved}`;
    });
  return answer.approved ? 'shipped' : 'refused';
});

/** Says hello in one step. */
export const greet = workflow({ name: 'greet' }, async (ctx, input: { name: string }) =>
  ctx.step('hello', async () => `Hello, ${input.name}`),
);

/** Fails in its second step. */
export const nightly = workflow({ name: 'nightly-report' }, async (ctx) => {
  await ctx.step('collect', async () => ({ rows: 1280 }));
  return ctx.step('upload', async () => {
    throw new Error('storage bucket "reports" is not reachable');
  });
});

/** A draft a person reviews (a human member), then published. */
export const reviewedPost = sequential({
  name: 'reviewed-post',
  stages: [
    workflow({ name: 'draft' }, async (ctx, topic: string) =>
      ctx.step('write', () => `Draft about ${topic}`),
    ),
    human({ name: 'lead', description: 'Approves or corrects the draft' }),
    workflow({ name: 'publish' }, async (ctx, verdict: string) =>
      ctx.step('publish', () => `Published: ${verdict}`),
    ),
  ],
});

/** `count` steps in a row (a long run for the rendering bound). */
export const manySteps = workflow({ name: 'many-steps' }, async (ctx, input: { count: number }) => {
  let total = 0;
  for (let index = 0; index < input.count; index++)
    total += await ctx.step(`item-${index}`, async () => index % 7);
  return total;
});
