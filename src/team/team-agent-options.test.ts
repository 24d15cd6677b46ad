import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, listPending, type Runtime, type Store } from '../index.js';
import { createFakeClock, type ScriptedModel, scriptedModel } from '../testing/index.js';
import { waitForStatus, waitUntil } from '../testing/wait-until.js';
import { type LoadTeamFileOptions, loadTeamFile, TeamFileError } from './index.js';

// The agent options team files map 1:1 onto agent(): context (pruning, compaction, scope),
// handoff filters, approvals, memory, response cache, tool routing and loop detection.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-agent-options-'));
writeFileSync(
  join(workspace, 'tools.ts'),
  `import { z } from 'zod';
import { tool } from '../../src/index.js';
export const lookupOrder = tool({ name: 'lookup_order', description: 'Find an order by id and show its total', input: z.object({ orderId: z.string() }), execute: ({ orderId }) => ({ orderId, total: 20 }) });
export const refundOrder = tool({ name: 'refund_order', description: 'Refund a duplicate charge of an order', input: z.object({ orderId: z.string() }), execute: ({ orderId }) => \`refunded \${orderId}\` });
export const sendInvoice = tool({ name: 'send_invoice', description: 'Send the invoice of an order by email', input: z.object({ orderId: z.string() }), execute: ({ orderId }) => \`sent \${orderId}\` });
export const deleteOrder = tool({ name: 'delete_order', description: 'Delete an order', input: z.object({ orderId: z.string() }), approval: 'always', execute: ({ orderId }) => \`deleted \${orderId}\` });
export const readPage = tool({ name: 'read_page', description: 'Read a page of the order log', input: z.object({ page: z.number() }), execute: ({ page }) => \`page \${page}: \${'the order log says nothing new. '.repeat(20)}\` });
`,
);
writeFileSync(
  join(workspace, 'clashing-tools.ts'),
  `import { z } from 'zod';
import { tool } from '../../src/index.js';
export const remember = tool({ name: 'remember', description: 'Note', input: z.object({ text: z.string() }), execute: () => 'ok' });
export const search = tool({ name: 'search_tools', description: 'Search', input: z.object({ query: z.string() }), execute: () => 'ok' });
`,
);
writeFileSync(
  join(workspace, 'rules.ts'),
  `export const notOrderOne = (input: { orderId: string }) => input.orderId !== '1';\n`,
);
let counter = 0;
/** The test modules live in the workspace, above each case's team folder. */
const allowModulesFrom = [workspace];
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function teamFile(yaml: string): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  return file;
}

async function loadError(yaml: string, options: LoadTeamFileOptions = {}): Promise<string> {
  const error = await loadTeamFile(teamFile(yaml), {
    allowModulesFrom,
    env: { OPENAI_API_KEY: 'k' },
    ...options,
  }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return (error as TeamFileError).message;
}

/** One agent named clerk with the tools module; `extra` is indented under the agent. */
const solo = (extra: string, tools = '[lookup_order]') => `name: desk
pattern: agent
model: openai:gpt-4o-mini
tools: ../tools.ts
agents:
  - name: clerk
    instructions: Help with orders.
    tools: ${tools}
${extra}`;

async function withRuntime<T>(store: Store, body: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = createRuntime({ store, recover: false });
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

const toolMessages = (call: LanguageModelV3CallOptions | undefined) =>
  (call?.prompt ?? []).filter((message) => message.role === 'tool');
const systemText = (call: LanguageModelV3CallOptions | undefined) =>
  String(call?.prompt.find((message) => message.role === 'system')?.content ?? '');
const agentOf = (call: LanguageModelV3CallOptions) => call.providerOptions?.baton?.agent;
const lookups = (...orders: string[]) =>
  orders.map((orderId) => ({ toolCalls: [{ tool: 'lookup_order', input: { orderId } }] }));

async function run(file: string, model: ScriptedModel, input: unknown, store: Store = createMemoryStore()) {
  const team = await loadTeamFile(file, { allowModulesFrom, model, store });
  return withRuntime(store, async (runtime) => {
    const handle = await runtime.start(team.runnable, input as string);
    return { team, runtime, handle, result: await handle.result() };
  });
}

describe('team files: context options', () => {
  it('prunes older tool turns and shows the agent only its scoped context', async () => {
    const yaml = (context: string) => teamFile(solo(`    context:\n${context}      scope: [customer.id]\n`));
    const input = {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Check orders 7 and 8.' }] }],
      context: { customer: { id: 'C-7', email: 'ana@example.com' }, order: { id: 'A-1' } },
    };
    const pruned = scriptedModel([...lookups('7', '8'), { text: 'Both cost 20.' }]);
    const file = yaml('      prune: { toolResults: drop, keepToolTurns: 1 }\n');
    expect((await run(file, pruned, input)).result).toBe('Both cost 20.');
    expect(toolMessages(pruned.calls[2])).toHaveLength(1);
    expect(JSON.stringify(toolMessages(pruned.calls[2]))).toContain('"8"');
    expect(systemText(pruned.calls[0])).toContain('{"customer":{"id":"C-7"}}');
    expect(systemText(pruned.calls[0])).not.toContain('ana@example.com');

    // Without prune the older tool turn is sent again.
    const kept = scriptedModel([...lookups('7', '8'), { text: 'Both cost 20.' }]);
    await run(yaml('      history: full\n'), kept, input);
    expect(toolMessages(kept.calls[2])).toHaveLength(2);
  });

  it('accepts prune: true and loads every context field onto the agent', async () => {
    const file = teamFile(
      solo(
        '    context: { history: window, contextWindow: 8000, reserveOutputTokens: 500, prune: true, scope: [] }\n',
      ),
    );
    const clerk = (await loadTeamFile(file, { allowModulesFrom, model: scriptedModel([]) })).agents.get(
      'clerk',
    );
    expect(clerk?.context).toMatchObject({
      history: 'window',
      contextWindow: 8000,
      reserveOutputTokens: 500,
      prune: { toolResults: 'truncate', keepToolTurns: 2, toolResultTokens: 100, reasoning: 'drop' },
      scope: [],
    });
  });

  it('compacts older turns with the summarizer model and instructions of the file', async () => {
    const file = teamFile(
      solo(
        `    maxTurns: 12
    context:
      history: compact
      maxTokens: 900
      compaction:
        model: openai:gpt-4o-mini
        triggerRatio: 0.5
        keepRecentTokens: 100
        instructions: List the pages read, one line each.
`,
        '[read_page]',
      ),
    );
    const model = scriptedModel(({ agent, turn }) =>
      agent === 'clerk/compaction'
        ? { text: '- pages read so far: nothing new' }
        : turn < 8
          ? { toolCalls: [{ tool: 'read_page', input: { page: turn } }] }
          : { text: 'Nothing new in the log.' },
    );
    const { runtime, handle, result } = await run(file, model, 'Read the order log.');
    expect(result).toBe('Nothing new in the log.');
    const summarizer = model.calls.filter((call) => agentOf(call) === 'clerk/compaction');
    expect(summarizer.length).toBeGreaterThan(0);
    expect(JSON.stringify(summarizer[0]?.prompt)).toContain('List the pages read, one line each.');
    const journal = await runtime.journal(handle.runId);
    expect(journal.some((entry) => entry.name === 'compact:clerk')).toBe(true);
  });

  it('lets an offline script give turns to the summarizer, "<agent>/compaction"', async () => {
    const directory = join(workspace, `case-${counter++}`);
    mkdirSync(directory);
    writeFileSync(
      join(directory, 'team.yaml'),
      `${solo('    context: { history: compact, maxTokens: 4000 }\n')}offline: { script: ./script.yaml }\n`,
    );
    writeFileSync(
      join(directory, 'script.yaml'),
      'clerk:\n  - text: Done.\nclerk/compaction:\n  - text: "- nothing yet"\n',
    );
    const team = await loadTeamFile(join(directory, 'team.yaml'), { allowModulesFrom, env: {} });
    expect(team.offline).toBe(true);
  });

  it('needs the key of the summarizer model, reported at its line', async () => {
    const message = await loadError(
      solo('    context:\n      history: compact\n      compaction: { model: anthropic:claude-haiku-4-5 }\n'),
    );
    expect(message).toMatch(
      /:11:28: agents\[0\]\.context\.compaction\.model: no model configured: set ANTHROPIC_API_KEY/,
    );
  });

  it('reports bad context values at line:column', async () => {
    expect(await loadError(solo('    context: { prune: { toolResults: shorten } }\n'))).toMatch(
      /:9:38: agents\[0\]\.context\.prune\.toolResults: unknown value "shorten" \(known: keep, truncate, drop\)/,
    );
    expect(await loadError(solo('    context: { scope: [customer..id] }\n'))).toMatch(
      /:9:24: agents\[0\]\.context\.scope\[0\]: expected a dotted path such as customer\.id/,
    );
    expect(
      await loadError(solo('    context: { history: compact, compaction: { triggerRatio: 2 } }\n')),
    ).toMatch(/:9:62: agents\[0\]\.context\.compaction\.triggerRatio: must be at most 1/);
    expect(await loadError(solo('    context: { compaction: { keepRecentTokens: 10 } }\n'))).toMatch(
      /:9:16: agents\[0\]\.context\.compaction: compaction applies only with history: compact/,
    );
    expect(await loadError(solo('    context: { prune: { keepToolTurn: 1 } }\n'))).toMatch(
      /:9:25: agents\[0\]\.context\.prune\.keepToolTurn: unknown key "keepToolTurn" \(allowed: toolResults, keepToolTurns, toolResultTokens, reasoning\)\. Did you mean "keepToolTurns"\?/,
    );
  });
});

describe('team files: handoff filters', () => {
  const team = (filter: string | undefined) => `name: desk
pattern: handoff
model: openai:gpt-4o-mini
entry: triage
agents:
  - name: triage
    instructions: Route the customer.
    handoffs:
      - agent: billing
${filter === undefined ? '' : `        filter: ${filter}\n`}  - name: billing
    instructions: Handle billing.
`;
  const script = () =>
    scriptedModel({
      triage: [{ text: 'Let me route you.', toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [{ text: 'Refunded.' }],
    });
  const billingMessages = (model: ScriptedModel) =>
    (model.calls.find((call) => agentOf(call) === 'billing')?.prompt ?? []).filter(
      (message) => message.role !== 'system',
    );

  it('applies { lastN: n } and summaryOnly to what the next agent sees', async () => {
    const full = script();
    await run(teamFile(team(undefined)), full, 'I was charged twice.');
    expect(billingMessages(full).map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    // lastN: 1 keeps the transfer's tool result and reaches back for the call it answers.
    const lastOne = script();
    expect((await run(teamFile(team('{ lastN: 1 }')), lastOne, 'I was charged twice.')).result).toBe(
      'Refunded.',
    );
    expect(billingMessages(lastOne).map((message) => message.role)).toEqual(['assistant', 'tool']);
    // No compaction happened, so summaryOnly leaves only the last user message.
    const summary = script();
    await run(teamFile(team('summaryOnly')), summary, 'I was charged twice.');
    expect(billingMessages(summary).map((message) => message.role)).toEqual(['user']);
  });

  it('reports a bad filter at line:column', async () => {
    expect(await loadError(team('firstN'))).toMatch(
      /:10:17: agents\[0\]\.handoffs\[0\]\.filter: unknown value "firstN" \(known: removeToolHistory, lastUserMessage, summaryOnly\)/,
    );
    expect(await loadError(team('{ lastN: 0 }'))).toMatch(
      /:10:26: agents\[0\]\.handoffs\[0\]\.filter\.lastN: must be at least 1; got number 0/,
    );
  });
});

describe('team files: approvals', () => {
  const yaml = (rules: string) =>
    teamFile(solo(`    approvals:\n${rules}`, '[lookup_order, refund_order, delete_order]'));

  it('suspends a call whose rule is always, runs one whose rule is never, and calls a module predicate', async () => {
    const file = yaml('      refund_order: always\n      delete_order: never\n');
    const refund = scriptedModel([
      { toolCalls: [{ tool: 'refund_order', input: { orderId: '7' }, id: 'call_refund' }] },
      { text: 'Refunded.' },
    ]);
    const store = createMemoryStore();
    const team = await loadTeamFile(file, { allowModulesFrom, model: refund });
    expect(team.agents.get('clerk')?.approvals).toEqual({ refund_order: 'always', delete_order: 'never' });
    await withRuntime(store, async (runtime) => {
      const handle = await runtime.start(team.runnable, 'Refund order 7.');
      await waitForStatus(runtime, handle.runId);
      expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toContain(
        'approval:refund_order',
      );
    });

    // delete_order asks for approval itself; the agent's rule "never" wins.
    const deletion = scriptedModel([
      { toolCalls: [{ tool: 'delete_order', input: { orderId: '7' } }] },
      { text: 'Deleted.' },
    ]);
    expect((await run(file, deletion, 'Delete order 7.')).result).toBe('Deleted.');

    const predicate = yaml('      refund_order: ../rules.ts#notOrderOne\n');
    const one = scriptedModel([
      { toolCalls: [{ tool: 'refund_order', input: { orderId: '1' } }] },
      { text: 'Refunded 1.' },
    ]);
    expect((await run(predicate, one, 'Refund order 1.')).result).toBe('Refunded 1.');
    const seven = scriptedModel([{ toolCalls: [{ tool: 'refund_order', input: { orderId: '7' } }] }]);
    const team7 = await loadTeamFile(predicate, { allowModulesFrom, model: seven });
    await withRuntime(createMemoryStore(), async (runtime) => {
      const handle = await runtime.start(team7.runnable, 'Refund order 7.');
      await waitForStatus(runtime, handle.runId);
    });
  });

  const minute = 60_000;
  const start = Date.UTC(2026, 0, 1);

  /** Loads the file and starts it on a runtime with a fake clock; the model refunds order 7, then answers. */
  async function startDeadline(file: string) {
    const store = createMemoryStore();
    const clock = createFakeClock(start);
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund_order', input: { orderId: '7' }, id: 'c1' }] },
      { text: 'Done.' },
    ]);
    const team = await loadTeamFile(file, { allowModulesFrom, model, store });
    const runtime = createRuntime({ store, clock, recover: false });
    const handle = await runtime.start(team.runnable, 'Refund order 7.');
    await waitForStatus(runtime, handle.runId);
    /** What the model got back for the refund call. */
    const toolResult = () => JSON.stringify(toolMessages(model.calls[1]));
    return { store, clock, model, team, runtime, handle, toolResult };
  }

  /** Polls the inbox until `matches` holds (a resumed run journals its next request asynchronously). */
  it('rejects a call by timeout when nobody answers a rule with a deadline, resolving its when predicate', async () => {
    const file = yaml(
      '      refund_order: { when: ../rules.ts#notOrderOne, timeout: 30m, onTimeout: reject }\n',
    );
    const { store, clock, model, team, runtime, handle, toolResult } = await startDeadline(file);
    try {
      const rule = team.agents.get('clerk')?.approvals?.refund_order;
      expect(rule).toEqual({ when: expect.any(Function), timeout: 30 * minute, onTimeout: 'reject' });
      expect(await listPending(store)).toEqual([
        expect.objectContaining({
          toolCallId: 'c1',
          tool: 'refund_order',
          deadline: start + 30 * minute,
          onTimeout: 'reject',
        }),
      ]);
      clock.advance(30 * minute - 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await runtime.get(handle.runId)).status).toBe('suspended');
      clock.advance(1);
      expect(await handle.result()).toBe('Done.');
      expect(toolResult()).toContain('rejected: no decision within 30m');
      expect(toolResult()).not.toContain('refunded 7');
      expect(model.calls).toHaveLength(2);
      expect(await listPending(store)).toEqual([]);
    } finally {
      await runtime.close();
    }

    // The same rule's predicate lets order 1 through without asking.
    const one = scriptedModel([
      { toolCalls: [{ tool: 'refund_order', input: { orderId: '1' } }] },
      { text: 'Refunded 1.' },
    ]);
    const ran = await run(file, one, 'Refund order 1.');
    expect(ran.result).toBe('Refunded 1.');
    expect(JSON.stringify(toolMessages(one.calls[1]))).toContain('refunded 1');
  });

  it('escalates an unanswered request to the rule’s escalateTo, whose answer decides', async () => {
    const file = yaml(
      '      refund_order:\n        timeout: 30m\n        onTimeout: { escalateTo: oncall-lead, timeout: 1h }\n',
    );
    const { store, clock, team, runtime, handle, toolResult } = await startDeadline(file);
    try {
      expect(team.agents.get('clerk')?.approvals?.refund_order).toEqual({
        when: 'always',
        timeout: 30 * minute,
        onTimeout: { escalateTo: 'oncall-lead', timeout: 60 * minute },
      });
      expect(await listPending(store)).toEqual([
        expect.objectContaining({ toolCallId: 'c1', onTimeout: { escalateTo: 'oncall-lead' } }),
      ]);
      clock.advance(30 * minute);
      const [escalated, ...others] = await waitUntil(
        () => listPending(store),
        (pending) => pending[0]?.escalatedTo !== undefined,
      );
      expect(others).toEqual([]);
      expect(escalated).toMatchObject({
        kind: 'approval',
        tool: 'refund_order',
        toolCallId: 'c1',
        escalatedTo: 'oncall-lead',
        deadline: start + 90 * minute,
        onTimeout: 'reject',
        answered: false,
      });
      await waitForStatus(runtime, handle.runId);
      await runtime.signal(handle.runId, escalated?.signal as string, { approved: true, by: 'lead' });
      expect(await handle.result()).toBe('Done.');
      expect(toolResult()).toContain('refunded 7');
    } finally {
      await runtime.close();
    }
  });

  it('reports bad deadline rules at line:column', async () => {
    const rule = (text: string) => solo(`    approvals:\n      refund_order: ${text}\n`, '[refund_order]');
    expect(await loadError(rule('{ onTimeout: approve }'))).toMatch(
      /:10:34: agents\[0\]\.approvals\.refund_order\.onTimeout: onTimeout applies when the timeout passes, and this rule has no timeout; add timeout/,
    );
    expect(
      await loadError(
        solo('    approvals:\n      refund_order:\n        when: always\n        onTimeout: reject\n'),
      ),
    ).toMatch(
      /:12:20: agents\[0\]\.approvals\.refund_order\.onTimeout: onTimeout applies when the timeout passes/,
    );
    expect(await loadError(rule('{ timeout: 30 minutes }'))).toMatch(
      /:10:32: agents\[0\]\.approvals\.refund_order\.timeout: expected a duration such as "30s"/,
    );
    expect(await loadError(rule('{ timeout: 30d }'))).toMatch(
      /:10:32: agents\[0\]\.approvals\.refund_order\.timeout: the longest approval timeout is 2147483647 ms/,
    );
    expect(await loadError(rule('{ timeout: 10m, onTimeout: escalate }'))).toMatch(
      /:10:48: agents\[0\]\.approvals\.refund_order\.onTimeout: unknown value "escalate" \(known: reject, approve\)/,
    );
    expect(await loadError(rule('{ timeout: 10m, onTimeout: { timeout: 1h } }'))).toMatch(
      /:10:48: agents\[0\]\.approvals\.refund_order\.onTimeout: missing required field "escalateTo"/,
    );
    expect(await loadError(rule('{ timeout: 10m, onTimeout: { escalateTo: lead, after: 1h } }'))).toMatch(
      /:10:68: agents\[0\]\.approvals\.refund_order\.onTimeout\.after: unknown key "after" \(allowed: escalateTo, timeout\)/,
    );
    expect(await loadError(rule('{ when: sometimes }'))).toMatch(
      /:10:29: agents\[0\]\.approvals\.refund_order\.when: expected always, never or a module export/,
    );
    expect(await loadError(rule('{ whn: always }'))).toMatch(
      /:10:23: agents\[0\]\.approvals\.refund_order\.whn: unknown key "whn" \(allowed: when, timeout, onTimeout\).*Did you mean "when"\?/,
    );
    expect(await loadError(rule('{ when: ../rules.ts#orderOne, timeout: 1h }'))).toMatch(
      /:10:29: agents\[0\]\.approvals\.refund_order\.when: \.\.\/rules\.ts has no export "orderOne"/,
    );
  });

  it('reports bad rules, unknown tools and missing exports at line:column', async () => {
    expect(await loadError(solo('    approvals: { refund_order: sometimes }\n'))).toMatch(
      /:9:32: agents\[0\]\.approvals\.refund_order: expected always, never or a module export/,
    );
    expect(await loadError(solo('    approvals: { refund_ordr: always }\n'))).toMatch(
      /:9:18: agents\[0\]\.approvals\.refund_ordr: unknown tool "refund_ordr" in approvals.*Did you mean "refund_order"\?/,
    );
    expect(await loadError(solo('    approvals: { refund_order: ../rules.ts#orderOne }\n'))).toMatch(
      /:9:32: agents\[0\]\.approvals\.refund_order: \.\.\/rules\.ts has no export "orderOne"/,
    );
  });
});

describe('team files: memory, cache, tool routing, loop detection', () => {
  it('gives the agent remember and recall, kept in the runtime’s store across loads', async () => {
    const file = teamFile(solo('    memory: { scope: agent, limit: 3 }\n'));
    const store = createMemoryStore();
    const first = scriptedModel([
      { toolCalls: [{ tool: 'remember', input: { text: 'Ana prefers invoices by email.' } }] },
      { text: 'Noted.' },
    ]);
    const loaded = await run(file, first, 'Remember: invoices by email.', store);
    expect(loaded.team.agents.get('clerk')?.tools.map((entry) => entry.name)).toEqual([
      'lookup_order',
      'remember',
      'recall',
    ]);
    expect(await store.readRecords('baton:memory')).toHaveLength(1);
    // A second load (a new process in the CLI) recalls it through the store.
    const second = scriptedModel([
      { toolCalls: [{ tool: 'recall', input: { query: 'invoices email' } }] },
      { text: 'By email.' },
    ]);
    await run(file, second, 'How does Ana want invoices?', store);
    expect(JSON.stringify(toolMessages(second.calls[1]))).toContain('Ana prefers invoices by email.');
  });

  it('serves a repeated call from the cache, shared through the store', async () => {
    const store = createMemoryStore();
    const file = teamFile(solo('    cache: { ttl: 10m }\n'));
    const model = scriptedModel(() => ({ text: 'Order 7 costs 20.' }));
    await run(file, model, 'How much is order 7?', store);
    const again = await run(file, model, 'How much is order 7?', store);
    expect(again.result).toBe('Order 7 costs 20.');
    expect(model.calls).toHaveLength(1);
    expect(again.team.agents.get('clerk')?.cache?.ttlMs).toBe(600_000);
    const steps = await again.runtime.journal(again.handle.runId);
    expect(steps.find((entry) => entry.name === 'model:clerk')?.meta?.cached).toBe(true);

    const uncached = scriptedModel(() => ({ text: 'Order 7 costs 20.' }));
    const off = teamFile(solo('    cache: false\n'));
    await run(off, uncached, 'How much is order 7?', store);
    await run(off, uncached, 'How much is order 7?', store);
    expect(uncached.calls).toHaveLength(2);
  });

  it('offers only the routed tools plus search_tools', async () => {
    const file = teamFile(
      solo(
        '    toolRouting: { maxTools: 1, alwaysOffer: [lookup_order], searchLimit: 2 }\n',
        '[lookup_order, refund_order, send_invoice]',
      ),
    );
    const model = scriptedModel([{ text: 'Sent.' }]);
    await run(file, model, 'Email me the invoice of order 7.');
    const offered = (model.calls[0]?.tools ?? []).map((entry) => entry.name);
    expect(offered).toEqual(['lookup_order', 'send_invoice', 'search_tools']);
  });

  it('stops a looping agent with LOOP_DETECTED', async () => {
    const file = teamFile(solo('    loopDetection: { maxRepeats: 2, response: stop }\n'));
    const model = scriptedModel([...lookups('7', '7', '7', '7'), { text: 'never' }]);
    const team = await loadTeamFile(file, { allowModulesFrom, model });
    await withRuntime(createMemoryStore(), async (runtime) => {
      const handle = await runtime.start(team.runnable, 'Order 7?');
      await expect(handle.result()).rejects.toMatchObject({ code: 'LOOP_DETECTED' });
    });
    expect(model.calls).toHaveLength(2);
  });

  it('reports memory and search tools that clash with the agent’s tools', async () => {
    const clashing = (extra: string) =>
      solo(extra, '[remember, search_tools]').replace('../tools.ts', '../clashing-tools.ts');
    expect(await loadError(clashing('    memory: true\n'))).toMatch(
      /:9:5: agents\[0\]\.memory: memory gives the agent a tool named "remember", and its tools already list one/,
    );
    expect(await loadError(clashing('    toolRouting: true\n'))).toMatch(
      /:9:5: agents\[0\]\.toolRouting: the agent has a tool named "search_tools".*set toolRouting\.searchToolName/,
    );
    expect(await loadError(clashing('    toolRouting: { searchToolName: search_tools }\n'))).toMatch(
      /:9:36: agents\[0\]\.toolRouting\.searchToolName: the agent already has a tool named "search_tools"/,
    );
  });

  it('reports bad values at line:column', async () => {
    expect(await loadError(solo('    memory: { scope: team }\n'))).toMatch(
      /:9:22: agents\[0\]\.memory\.scope: unknown value "team" \(known: thread, agent\)/,
    );
    expect(await loadError(solo('    memory: { scope: { user: u1, agent: a } }\n'))).toMatch(
      /:9:22: agents\[0\]\.memory\.scope: set exactly one of user, thread or agent/,
    );
    expect(await loadError(solo('    cache: { ttl: forever }\n'))).toMatch(
      /:9:19: agents\[0\]\.cache\.ttl: expected a duration such as "30s"/,
    );
    expect(await loadError(solo('    cache: sometimes\n'))).toMatch(
      /:9:12: agents\[0\]\.cache: expected true, false or a mapping \{ ttl \}; got "sometimes"/,
    );
    expect(await loadError(solo('    toolRouting: { maxTools: 0 }\n'))).toMatch(
      /:9:30: agents\[0\]\.toolRouting\.maxTools: must be at least 1; got number 0/,
    );
    expect(await loadError(solo('    toolRouting: { alwaysOffer: [lookup_ordr] }\n'))).toMatch(
      /:9:34: agents\[0\]\.toolRouting\.alwaysOffer\[0\]: "lookup_ordr" is not one of this agent's tools.*Did you mean "lookup_order"\?/,
    );
    expect(await loadError(solo('    loopDetection: { maxRepeats: 1 }\n'))).toMatch(
      /:9:34: agents\[0\]\.loopDetection\.maxRepeats: must be at least 2; got number 1/,
    );
    expect(await loadError(solo('    loopDetection: { response: ignore }\n'))).toMatch(
      /:9:32: agents\[0\]\.loopDetection\.response: unknown value "ignore" \(known: stop, warn, escalate\)/,
    );
  });
});
