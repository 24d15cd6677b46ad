// Context: tokens sent over a handoff chain on a 50-message conversation, forwarding the whole
// conversation versus scoped/structured context, for 1..5 handoffs.
//
// The harness's per-run phases time the reference (the baton-memory workload, so its tool and
// model counts are verified as for every case); the token figures are in `metrics`. Token counts
// are deterministic (a scripted model, the o200k tokenizer of gpt-4o), so one run per chain length
// and mode is enough; every prompt the model received is counted with `countPromptTokens`
// (system, messages and the tool definitions sent).
import { pathToFileURL } from 'node:url';
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';

export const name = 'baton-context';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: tokens sent over a chain of agents (1..5 handoffs) on a 50-message conversation, full forwarding vs scoped/structured context.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const { scriptedModel } = await dist('testing/index.js');
const countPromptTokens = baton.countPromptTokens ?? (await dist('context/tokens.js')).countPromptTokens;
const { userMessage } = baton;
const { handoffFilters } = baton;

/** The model every agent uses: gpt-4o's id, so prompts are counted with its own tokenizer (o200k). */
const MODEL_ID = 'gpt-4o';
const MAX_HANDOFFS = 5;
/** The headline chain: five agents, four handoffs. */
const FIVE_AGENTS = 4;

/** The structured context the application keeps for this conversation (the facts the 50 messages establish). */
const structured = {
  customer: {
    id: 'C-20931',
    name: 'Ada Lovelace',
    tier: 'gold',
    email: 'ada@example.com',
    since: '2019-04-02',
  },
  order: {
    id: 'A-1001',
    status: 'delivered, one item damaged',
    total: 184.9,
    items: [
      { sku: 'LMP-220', name: 'desk lamp', quantity: 1, price: 64.9 },
      { sku: 'CHR-031', name: 'office chair', quantity: 1, price: 120 },
    ],
  },
  shipping: { carrier: 'DHL', tracking: 'JD014600003828', address: '12 Analytical Row, London N1 7AA' },
  payment: { method: 'visa ending 4242', charged: [184.9, 184.9], duplicate: true },
  issue: {
    summary: 'charged twice for A-1001 and the lamp arrived with a cracked base',
    wants: 'refund the duplicate charge and replace the lamp',
  },
};

/** Agents of the chain, with the fields of the structured context each one declares. */
const roster = [
  { name: 'triage', scope: ['customer.tier', 'issue.summary'] },
  { name: 'orders', scope: ['order.id', 'order.items'] },
  { name: 'shipping', scope: ['shipping', 'order.id'] },
  { name: 'billing', scope: ['payment', 'order.total'] },
  { name: 'returns', scope: ['order.items', 'issue.wants'] },
  { name: 'followup', scope: ['customer.name', 'customer.email'] },
];

/** A 50-message support conversation (25 customer / 25 agent turns) establishing those facts. */
function conversation() {
  const topics = [
    'my order A-1001 with the desk lamp and the office chair',
    'the DHL tracking number JD014600003828 that showed delivered on Tuesday',
    'my visa ending 4242 being charged 184.90 twice on the same day',
    'the lamp base LMP-220 that arrived cracked in two places',
    'my address 12 Analytical Row, London N1 7AA, which is correct',
  ];
  const messages = [];
  for (let index = 0; index < 25; index++) {
    const topic = topics[index % topics.length];
    messages.push(
      userMessage(
        `About ${topic}: I checked again this morning (message ${index + 1}) and I still need this sorted before the weekend, please.`,
      ),
    );
    messages.push({
      role: 'assistant',
      content: [
        {
          type: 'text',
          text: `Thank you, I have noted the details about ${topic}. Let me look into it and confirm the next step for you (reply ${index + 1}).`,
        },
      ],
    });
  }
  messages[messages.length - 1] = userMessage(
    'So please refund the duplicate charge on A-1001 and send a replacement lamp. Who can do that?',
  );
  return messages;
}

/**
 * One run of a chain of `handoffs + 1` agents; returns the tokens of every prompt sent.
 * `full`: each transfer forwards the whole conversation (no filter), no structured context.
 * `scoped`: the structured context goes along, each agent sees only its declared fields; the
 * entry agent reads the most recent turns that fit 250 tokens (`history: 'window'`), and each
 * transfer forwards only the last user message (`handoffFilters.lastUserMessage`).
 */
async function chainTokens(handoffs, mode) {
  const members = roster.slice(0, handoffs + 1);
  const model = scriptedModel(
    ({ agent }) => {
      const position = members.findIndex((member) => member.name === agent);
      const next = members[position + 1];
      return next === undefined
        ? { text: 'Refund of 184.90 issued and a replacement lamp is on its way.' }
        : { toolCalls: [{ tool: `transfer_to_${next.name}`, input: {} }] };
    },
    { modelId: MODEL_ID },
  );
  const agents = [];
  for (let position = members.length - 1; position >= 0; position--) {
    const member = members[position];
    const next = agents[0];
    const handoffs =
      next === undefined
        ? []
        : [mode === 'full' ? next : baton.transfer(next, { inputFilter: handoffFilters.lastUserMessage })];
    const context =
      mode === 'full'
        ? undefined
        : position === 0
          ? { scope: member.scope, history: 'window', maxTokens: 250 }
          : { scope: member.scope };
    agents.unshift(
      baton.agent({
        name: member.name,
        description: `Handles ${member.name} for support cases.`,
        instructions: `You are the ${member.name} agent of a retail support team. Resolve your part of the case or hand it on.`,
        model,
        handoffs,
        ...(context === undefined ? {} : { context }),
      }),
    );
  }
  const runtime = baton.createRuntime({ store: baton.createMemoryStore(), recover: false });
  try {
    const input =
      mode === 'full' ? { messages: conversation() } : { messages: conversation(), context: structured };
    const handle = await runtime.start(agents[0], input);
    const output = await handle.result();
    if (!String(output).startsWith('Refund of 184.90'))
      throw new Error(`${mode} chain with ${handoffs} handoffs: unexpected output ${JSON.stringify(output)}`);
    if (model.calls.length !== members.length)
      throw new Error(
        `${mode} chain with ${handoffs} handoffs: ${model.calls.length} model calls, expected ${members.length}`,
      );
    let total = 0;
    const forwarded = [];
    for (const call of model.calls) {
      total += countPromptTokens(call.prompt, `openai:${MODEL_ID}`, call.tools ?? []);
      // The conversation part of the prompt (without system prompt and tools): what handoffs forward.
      forwarded.push(countPromptTokens(call.prompt.slice(1), `openai:${MODEL_ID}`));
    }
    return { total, forwarded };
  } finally {
    await runtime.close();
  }
}

/** Least-squares line through (x, y) with its R². */
function fitLine(xs, ys) {
  const n = xs.length;
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let index = 0; index < n; index++) {
    sxy += (xs[index] - meanX) * (ys[index] - meanY);
    sxx += (xs[index] - meanX) ** 2;
    syy += (ys[index] - meanY) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residual = ys.reduce((sum, y, index) => sum + (y - (intercept + slope * xs[index])) ** 2, 0);
  return { slope, intercept, r2: syy === 0 ? 1 : 1 - residual / syy };
}

/** Tokens per chain length and mode, the ratio, and linear fits. */
export async function measureContextTokens() {
  const counts = { full: [], scoped: [] };
  const forwarded = {};
  const xs = [];
  for (let handoffs = 1; handoffs <= MAX_HANDOFFS; handoffs++) {
    xs.push(handoffs);
    for (const mode of ['full', 'scoped']) {
      const run = await chainTokens(handoffs, mode);
      counts[mode].push(run.total);
      if (handoffs === MAX_HANDOFFS) forwarded[mode] = run.forwarded;
    }
  }
  return { xs, counts, forwarded, full: fitLine(xs, counts.full), scoped: fitLine(xs, counts.scoped) };
}

let measured;

export async function setup() {
  const reference = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce: () => reference.runOnce(),
    toolCalls: reference.toolCalls,
    modelCalls: reference.modelCalls,
    close: () => reference.runtime.close(),
    metrics: async () => {
      measured = await measureContextTokens();
      const metrics = {};
      for (const [index, handoffs] of measured.xs.entries()) {
        const full = measured.counts.full[index];
        const scoped = measured.counts.scoped[index];
        metrics[`${handoffs} handoffs (${handoffs + 1} agents): tokens sent, full / scoped`] =
          `${full} / ${scoped} (${((100 * scoped) / full).toFixed(1)}%)`;
      }
      for (const mode of ['full', 'scoped']) {
        metrics[`${mode}: conversation tokens in each agent's prompt, ${MAX_HANDOFFS} handoffs`] =
          measured.forwarded[mode].join(', ');
        const fit = measured[mode];
        metrics[`${mode}: linear fit tokens = a + b × handoffs`] =
          `a ${fit.intercept.toFixed(0)}, b ${fit.slope.toFixed(1)}, R² ${fit.r2.toFixed(5)}`;
      }
      return metrics;
    },
  };
}

export const targets = () => {
  if (measured === undefined) return [];
  const full = measured.counts.full[FIVE_AGENTS - 1];
  const scoped = measured.counts.scoped[FIVE_AGENTS - 1];
  const ratio = scoped / full;
  // After the entry agent, every agent of the scoped chain gets the same forwarded conversation
  // (the last user message), whatever its position: each handoff adds a bounded amount.
  const after = measured.forwarded.scoped.slice(1);
  const growth = Math.max(...after) - Math.min(...after);
  return [
    {
      label: `five-agent chain: scoped tokens ÷ full forwarding (${scoped} ÷ ${full})`,
      value: ratio * 100,
      limit: 10,
      unit: '%',
    },
    {
      label: `scoped tokens linear in handoffs (1..5): R² of the least-squares line (${measured.scoped.r2.toFixed(5)})`,
      value: measured.scoped.r2,
      limit: 0.99,
      atLeast: true,
      pass: measured.scoped.r2 >= 0.99,
    },
    {
      label: `scoped: growth of the forwarded conversation from agent 2 to agent ${MAX_HANDOFFS + 1} (${after.join(', ')} tokens)`,
      value: growth,
      limit: 0,
      unit: 'tokens',
    },
  ];
};
