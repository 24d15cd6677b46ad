import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime } from '../core/runtime.js';
import { guardrail } from '../governance/guardrails.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { agent } from './agent.js';
import type { AgentHooks } from './agent-hooks.js';
import { transfer } from './handoff.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });

const lookup = (log: string[]) =>
  tool({
    name: 'lookup',
    description: 'Looks an order up',
    input: z.object({ id: z.string() }),
    execute: ({ id }) => {
      log.push(`lookup(${id})`);
      return `  order ${id}: shipped  `;
    },
  });

const refund = (log: string[]) =>
  tool({
    name: 'refund',
    description: 'Refunds an order',
    input: z.object({ id: z.string() }),
    capabilities: ['spend'],
    execute: ({ id }) => {
      log.push(`refund(${id})`);
      return `refunded ${id}`;
    },
  });

const toolResultOf = (prompt: unknown[] | undefined, toolName: string) =>
  JSON.stringify(
    prompt
      ?.filter((message) => (message as { role: string }).role === 'tool')
      .flatMap((message) => (message as { content: { toolName: string }[] }).content)
      .filter((part) => part.toolName === toolName),
  );

describe('agent hooks', () => {
  it('lets a user hook veto a tool call with a reason the model sees; the tool never runs', async () => {
    const rt = runtime();
    const log: string[] = [];
    const noRefunds: AgentHooks = {
      name: 'no-refunds',
      beforeTool: (_run, call) =>
        call.tool.name === 'refund' ? 'Refunds are paused today; tell the customer.' : undefined,
    };
    const model = scriptedModel([
      {
        toolCalls: [
          { tool: 'lookup', input: { id: 'A-1' } },
          { tool: 'refund', input: { id: 'A-1' } },
        ],
      },
      { text: 'Refunds are paused.' },
    ]);
    const support = agent({
      name: 'support',
      instructions: 'Help.',
      model,
      tools: [lookup(log), refund(log)],
      hooks: [noRefunds],
    });
    expect(await (await rt.start(support, 'refund A-1')).result()).toBe('Refunds are paused.');
    expect(log).toEqual(['lookup(A-1)']);
    const seen = toolResultOf(model.calls[1]?.prompt, 'refund');
    expect(seen).toContain('error-text');
    expect(seen).toContain('Refunds are paused today; tell the customer.');
    await rt.close();
  });

  it('lets a user hook record every model call (the prompt sent and the response) and rewrite a tool result', async () => {
    const rt = runtime();
    const records: string[] = [];
    const recorder: AgentHooks = {
      name: 'recorder',
      beforeModel(run, prompt) {
        records.push(`before ${run.agent.name} turn ${run.turns} (${prompt.length} messages)`);
        return undefined;
      },
      afterModel(run, response) {
        records.push(`after ${run.agent.name} turn ${run.turns}: ${response.toolCalls.length} tool calls`);
        return undefined;
      },
    };
    const trim: AgentHooks = {
      name: 'trim',
      afterTool: (_run, call, output) =>
        call.toolName === 'lookup' && output.type === 'text'
          ? { type: 'text', value: output.value.trim().toUpperCase() }
          : undefined,
    };
    const model = scriptedModel([
      { toolCalls: [{ tool: 'lookup', input: { id: 'B-2' } }] },
      { text: 'Shipped.' },
    ]);
    const log: string[] = [];
    const support = agent({
      name: 'support',
      instructions: 'Help.',
      model,
      tools: [lookup(log)],
      hooks: [recorder, trim],
    });
    expect(await (await rt.start(support, 'where is B-2?')).result()).toBe('Shipped.');
    expect(records).toEqual([
      'before support turn 0 (2 messages)',
      'after support turn 1: 1 tool calls',
      'before support turn 1 (4 messages)',
      'after support turn 2: 0 tool calls',
    ]);
    const seen = toolResultOf(model.calls[1]?.prompt, 'lookup');
    expect(seen).toContain('ORDER B-2: SHIPPED');
    expect(seen).not.toContain('  order');
    expect(log).toEqual(['lookup(B-2)']);
    await rt.close();
  });

  it('lets onOutput rewrite the final answer and onHandoff send control elsewhere', async () => {
    const rt = runtime();
    const model = scriptedModel({
      triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [{ text: 'never asked' }],
      escalations: [{ text: 'a person will call you' }],
    });
    const billing = agent({ name: 'billing', instructions: 'Bill.', model });
    const escalations = agent({
      name: 'escalations',
      instructions: 'Escalate.',
      model,
      hooks: [{ name: 'sign', onOutput: (_run, text) => `${text} (escalations)` }],
    });
    const triage = agent({
      name: 'triage',
      instructions: 'Route.',
      model,
      handoffs: [billing, escalations],
      hooks: [
        {
          name: 'closed-billing',
          onHandoff: (_run, _from, to) => (to === billing ? transfer(escalations) : undefined),
        },
      ],
    });
    expect(await (await rt.start(triage, 'charged twice')).result()).toBe(
      'a person will call you (escalations)',
    );
    expect(model.calls.map((call) => call.providerOptions?.baton?.agent)).toEqual(['triage', 'escalations']);
    await rt.close();
  });

  it('runs wrapTool hooks around the tool step, the first outermost; one may answer without running the tool', async () => {
    const rt = runtime();
    const log: string[] = [];
    const outer: AgentHooks = {
      name: 'outer',
      wrapTool: async (run, call, execute) => {
        log.push(`outer in ${call.tool.name}`);
        const output = await execute(run.ctx);
        log.push('outer out');
        return output;
      },
    };
    const inner: AgentHooks = {
      name: 'inner',
      wrapTool: async (_run, call, execute) => {
        log.push(`inner ${JSON.stringify(call.input)}`);
        if ((call.input as { id: string }).id === 'cached') return { type: 'text', value: 'from cache' };
        return execute(_run.ctx);
      },
    };
    const model = scriptedModel([
      {
        toolCalls: [
          { tool: 'lookup', input: { id: 'cached' } },
          { tool: 'lookup', input: { id: 'C-3' } },
        ],
      },
      { text: 'done' },
    ]);
    const support = agent({
      name: 'support',
      instructions: 'Help.',
      model,
      tools: [lookup(log)],
      hooks: [outer, inner],
    });
    expect(await (await rt.start(support, 'go')).result()).toBe('done');
    expect(log.filter((line) => line.startsWith('lookup'))).toEqual(['lookup(C-3)']);
    expect(log.slice(0, 2)).toEqual(['outer in lookup', 'inner {"id":"cached"}']);
    expect(toolResultOf(model.calls[1]?.prompt, 'lookup')).toContain('from cache');
    await rt.close();
  });

  it('runs the built-in policies as hook sets, in their documented order, before the agent’s own', () => {
    const model = scriptedModel([]);
    const mine: AgentHooks = { name: 'mine', afterTool: () => undefined };
    const governed = agent({
      name: 'governed',
      instructions: 'x',
      model,
      tools: [refund([])],
      context: { history: 'window', maxTokens: 4000 },
      budget: { maxTurns: 5 },
      loopDetection: { maxRepeats: 3 },
      permissions: { tools: ['refund'], capabilities: ['spend'] },
      guardrails: [guardrail({ name: 'no-x', on: 'output', check: () => ({ action: 'pass' }) })],
      approvals: { refund: 'always' },
      hooks: [mine],
    });
    expect(governed.hooks.map((set) => set.name)).toEqual([
      'context',
      'budget',
      'loop-detection',
      'permissions',
      'guardrails',
      'approvals',
      'mine',
    ]);
    // Compiled once, by phase: the guardrail set only hooks the stages it has.
    expect(governed.hookPlan.always.onOutput).toHaveLength(1);
    expect(governed.hookPlan.always.beforeTool).toBeUndefined();
    expect(governed.hookPlan.always.afterTool).toHaveLength(1);
    expect(governed.hookPlan.always.wrapTool).toHaveLength(1);
  });

  it('gives an agent without policies no hook to run (the run-level ones switch on only when a run asks)', () => {
    const bare = agent({ name: 'bare', instructions: 'x', model: scriptedModel([]) });
    expect(bare.hooks.map((set) => set.name)).toEqual(['context', 'budget']);
    expect(bare.hookPlan.always.empty).toBe(true);
    expect(bare.hookPlan.all.empty).toBe(false);
  });

  it('refuses hook sets without a name, with a duplicate name or with an unknown hook', () => {
    const model = scriptedModel([]);
    expect(() => agent({ name: 'a', instructions: 'x', model, hooks: [{} as AgentHooks] })).toThrow(
      /hooks\[0\] must be an object with a name/,
    );
    expect(() =>
      agent({ name: 'a', instructions: 'x', model, hooks: [{ name: 'h' }, { name: 'h' }] }),
    ).toThrow(/hooks\[1\] is named "h", like another hook set/);
    expect(() => agent({ name: 'a', instructions: 'x', model, hooks: [{ name: 'budget' }] })).toThrow(
      /hooks\[0\] is named "budget"/,
    );
    expect(() =>
      agent({
        name: 'a',
        instructions: 'x',
        model,
        hooks: [{ name: 'h', beforeToolCall: () => undefined } as unknown as AgentHooks],
      }),
    ).toThrow(/unknown hook "beforeToolCall"/);
  });
});
