/** Tools of the customer-support team: an order table, a refund ledger that refuses double refunds, a status page. */

import { tool } from 'batonjs';
import { z } from 'zod';

interface Charge {
  id: string;
  amount: number;
  at: string;
}

interface Order {
  id: string;
  customer: string;
  items: string[];
  total: number;
  currency: 'USD';
  status: 'processing' | 'shipped' | 'delivered';
  charges: Charge[];
}

/** A refund as recorded in the ledger. */
export interface Refund {
  refundId: string;
  orderId: string;
  chargeId: string;
  amount: number;
  currency: 'USD';
  reason: string;
  /** The tool call's idempotency key: a retried call with the same key gets the same refund back. */
  idempotencyKey: string;
}

const orders: Record<string, Order> = {
  'A-1001': {
    id: 'A-1001',
    customer: 'Dana Reyes',
    items: ['Noise-cancelling headphones'],
    total: 129,
    currency: 'USD',
    status: 'delivered',
    charges: [
      { id: 'ch_1001_1', amount: 129, at: '2026-11-02T10:14:03Z' },
      { id: 'ch_1001_2', amount: 129, at: '2026-11-02T10:14:05Z' },
    ],
  },
  'A-1002': {
    id: 'A-1002',
    customer: 'Sam Okafor',
    items: ['USB-C dock', 'HDMI cable'],
    total: 84.5,
    currency: 'USD',
    status: 'shipped',
    charges: [{ id: 'ch_1002_1', amount: 84.5, at: '2026-11-05T16:40:11Z' }],
  },
  'A-1003': {
    id: 'A-1003',
    customer: 'Lee Park',
    items: ['Smart plug (2-pack)'],
    total: 39.99,
    currency: 'USD',
    status: 'processing',
    charges: [{ id: 'ch_1003_1', amount: 39.99, at: '2026-11-09T08:02:47Z' }],
  },
};

/** Refunds by charge id. Module state: it lives as long as the process that loaded this module. */
const ledger = new Map<string, Refund>();

/** Every refund issued so far, oldest first. */
export function refunds(): Refund[] {
  return [...ledger.values()];
}

function findOrder(orderId: string): Order {
  const order = orders[orderId.trim().toUpperCase()];
  if (order === undefined) {
    throw new Error(`No order "${orderId}". Order ids look like A-1001; ask the customer to check it.`);
  }
  return order;
}

/** Looks an order up, with its charges, the refunds made and whether it was charged more than once. */
export const lookupOrder = tool({
  name: 'lookup_order',
  description:
    'Look up an order by id (like A-1001): customer, items, total, status, every charge and refund, and whether it was charged twice.',
  input: z.object({ orderId: z.string().describe('The order id, e.g. A-1001') }),
  idempotent: true,
  execute: ({ orderId }) => {
    const order = findOrder(orderId);
    const charges = order.charges.map((charge) => ({
      ...charge,
      refunded: ledger.has(charge.id),
    }));
    const live = charges.filter((charge) => !charge.refunded);
    return {
      ...order,
      charges,
      duplicateCharge: live.length > 1 && live.every((charge) => charge.amount === order.total),
    };
  },
});

/** Refunds one charge of an order; refuses a charge that was already refunded and the order's last live charge. */
export const refundOrder = tool({
  name: 'refund_order',
  description:
    'Refund one charge of an order (use the charge id from lookup_order). Refuses charges already refunded and the only remaining charge of an order.',
  input: z.object({
    orderId: z.string().describe('The order id, e.g. A-1001'),
    chargeId: z.string().describe('The id of the charge to refund, e.g. ch_1001_2'),
    reason: z.string().describe('Why, in a few words'),
  }),
  execute: ({ orderId, chargeId, reason }, context) => {
    const order = findOrder(orderId);
    const charge = order.charges.find((candidate) => candidate.id === chargeId);
    if (charge === undefined) {
      throw new Error(
        `Order ${order.id} has no charge "${chargeId}"; its charges are ${order.charges.map((c) => c.id).join(', ')}.`,
      );
    }
    const existing = ledger.get(charge.id);
    if (existing !== undefined) {
      // The same tool call retried after a crash: hand back the refund it already made.
      if (existing.idempotencyKey === context.idempotencyKey) return receipt(existing);
      throw new Error(
        `Charge ${charge.id} of order ${order.id} was already refunded (${existing.refundId}).`,
      );
    }
    const live = order.charges.filter((candidate) => !ledger.has(candidate.id));
    if (live.length <= 1) {
      throw new Error(
        `Charge ${charge.id} is the only charge left on order ${order.id}; refusing to refund it.`,
      );
    }
    const refund: Refund = {
      refundId: `RF-${order.id}-${ledger.size + 1}`,
      orderId: order.id,
      chargeId: charge.id,
      amount: charge.amount,
      currency: order.currency,
      reason,
      idempotencyKey: context.idempotencyKey,
    };
    ledger.set(charge.id, refund);
    return receipt(refund);
  },
});

/** What the model sees of a refund (the idempotency key stays internal). */
function receipt({ idempotencyKey: _internal, ...refund }: Refund): Omit<Refund, 'idempotencyKey'> {
  return refund;
}

const services: Record<string, { status: 'operational' | 'degraded' | 'outage'; note: string }> = {
  website: { status: 'operational', note: 'All pages load normally.' },
  'mobile-app': {
    status: 'degraded',
    note: 'Login on Android 15 fails for some users; fix rolling out, workaround: update to app 4.2.1.',
  },
  checkout: { status: 'operational', note: 'Payments are processed normally.' },
  'smart-home-hub': {
    status: 'outage',
    note: 'Devices show offline since 09:10 UTC; engineers are restoring the hub service. No action needed.',
  },
};

/** Reports the status of one of the store's services from a fixed status page. */
export const checkServiceStatus = tool({
  name: 'check_service_status',
  description: `Check the current status of a service: ${Object.keys(services).join(', ')}.`,
  input: z.object({ service: z.string().describe(`One of: ${Object.keys(services).join(', ')}`) }),
  idempotent: true,
  execute: ({ service }) => {
    const entry = services[service.trim().toLowerCase()];
    if (entry === undefined) {
      throw new Error(`Unknown service "${service}". Known services: ${Object.keys(services).join(', ')}.`);
    }
    return { service, ...entry };
  },
});
