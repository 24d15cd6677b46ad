import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '../index.js';
import { scriptedModel } from '../testing/index.js';
import { loadTeamFile, TeamFileError } from './index.js';

// The per-agent production options of a team file: model chains, retry, timeout, budget,
// permissions, guardrails and context.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-policies-'));
writeFileSync(
  join(workspace, 'tools.ts'),
  `import { z } from 'zod';
import { tool } from '../../src/index.js';
export const lookupOrder = tool({ name: 'lookup_order', description: 'Find an order', input: z.object({ orderId: z.string() }), capabilities: ['read'], execute: ({ orderId }) => ({ orderId, total: 20 }) });
export const refundOrder = tool({ name: 'refund_order', description: 'Refund', input: z.object({ orderId: z.string() }), capabilities: ['write', 'spend'], execute: ({ orderId }) => \`refunded \${orderId}\` });
`,
);
let counter = 0;
/** The test modules live in the workspace, above each case's team folder. */
const allowModulesFrom = [workspace];
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function teamFile(yaml: string, script?: string): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  if (script !== undefined) writeFileSync(join(directory, 'script.yaml'), script);
  return file;
}

async function loadError(yaml: string): Promise<string> {
  const error = await loadTeamFile(teamFile(yaml), { allowModulesFrom, env: { OPENAI_API_KEY: 'k' } }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return (error as TeamFileError).message;
}

const everything = `name: desk
pattern: agent
tools: ../tools.ts
offline: { script: ./script.yaml }
agents:
  - name: clerk
    instructions: Look the order up and answer.
    model: [openai:gpt-4o-mini, anthropic:claude-haiku-4-5]
    tools: [lookup_order, refund_order]
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 100 }
    timeout: 30s
    budget: { maxTurns: 5, maxTokens: 10000, maxCostUsd: 0.5, maxWallTime: 2m }
    permissions:
      tools: [lookup_order]
      capabilities: [read]
    guardrails: [pii, secrets, injection]
    context: { history: window, maxTokens: 4000 }
`;

describe('team files: agent production options', () => {
  it('loads every option and runs offline on the script', async () => {
    const file = teamFile(everything, 'clerk:\n  - text: Order 7 costs 20.\n');
    const team = await loadTeamFile(file, { allowModulesFrom, env: {} });
    expect(team.offline).toBe(true);
    const clerk = team.agents.get('clerk');
    expect(clerk?.budget).toEqual({ maxTurns: 5, maxTokens: 10000, maxCostUsd: 0.5, maxWallTimeMs: 120_000 });
    expect(clerk?.permissions).toEqual({ tools: ['lookup_order'], capabilities: ['read'] });
    expect(clerk?.guardrails.map((guardrail) => guardrail.name)).toHaveLength(3);
    expect(clerk?.context.history).toBe('window');
    expect(clerk?.context.maxTokens).toBe(4000);
    expect(clerk?.resilience).toMatchObject({
      retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 100 },
      timeoutMs: 30_000,
    });

    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    try {
      const handle = await runtime.start(team.runnable, 'How much is order 7?');
      expect(await handle.result()).toBe('Order 7 costs 20.');
    } finally {
      await runtime.close();
    }
  });

  it('keeps a model list as the agent’s fallback chain when the providers are configured', async () => {
    const team = await loadTeamFile(teamFile(everything, 'clerk:\n  - text: x\n'), {
      allowModulesFrom,
      env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k' },
    });
    expect(team.offline).toBe(false);
    expect(team.agents.get('clerk')?.models).toEqual(['openai:gpt-4o-mini', 'anthropic:claude-haiku-4-5']);
    const partly = await loadTeamFile(teamFile(everything, 'clerk:\n  - text: x\n'), {
      allowModulesFrom,
      env: { OPENAI_API_KEY: 'k' },
    });
    expect(partly.offline).toBe(true);
    expect(partly.notice).toContain('ANTHROPIC_API_KEY');
  });

  it('reports a permission denial to the model', async () => {
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund_order', input: { orderId: '7' } }] },
      { text: 'I may not refund it.' },
    ]);
    const team = await loadTeamFile(teamFile(everything), { allowModulesFrom, model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    try {
      const handle = await runtime.start(team.runnable, 'Refund order 7.');
      expect(await handle.result()).toBe('I may not refund it.');
    } finally {
      await runtime.close();
    }
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('Permission denied');
    expect(JSON.stringify(model.calls[1]?.prompt)).not.toContain('refunded 7');
  });

  it('stops the run with status budget-exceeded past the agent budget', async () => {
    const model = scriptedModel([
      {
        text: 'Looking it up.',
        toolCalls: [{ tool: 'lookup_order', input: { orderId: '7' } }],
        usage: { inputTokens: 80, outputTokens: 10 },
      },
      { text: 'never reached' },
    ]);
    const team = await loadTeamFile(
      teamFile(`name: desk
pattern: agent
tools: ../tools.ts
agents:
  - name: clerk
    instructions: Look it up.
    tools: [lookup_order]
    budget: { maxTokens: 100 }
`),
      { allowModulesFrom, model },
    );
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    try {
      const handle = await runtime.start(team.runnable, 'Order 7?');
      await expect(handle.result()).rejects.toThrow();
      expect((await runtime.get(handle.runId)).status).toBe('budget-exceeded');
    } finally {
      await runtime.close();
    }
    expect(model.calls).toHaveLength(1);
  });

  const base = `name: desk
pattern: agent
model: openai:gpt-4o-mini
tools: ../tools.ts
agents:
  - name: clerk
    instructions: Help.
`;

  it('reports unknown permission tools with a did-you-mean, at line:column', async () => {
    const message = await loadError(`${base}    permissions: { tools: [lookup_ordr] }\n`);
    expect(message).toMatch(
      /team\.yaml:8:28: agents\[0\]\.permissions\.tools\[0\]: unknown tool "lookup_ordr" in permissions.*Did you mean "lookup_order"\?/,
    );
  });

  it('reports bad option values at line:column', async () => {
    expect(await loadError(`${base}    guardrails: [pii, toxicity]\n`)).toMatch(
      /:8:23: agents\[0\]\.guardrails\[1\]: unknown value "toxicity" \(known: pii, secrets, injection\)/,
    );
    expect(await loadError(`${base}    permissions: { capabilities: [read, delete] }\n`)).toMatch(
      /:8:41: agents\[0\]\.permissions\.capabilities\[1\]: unknown value "delete" \(known: read, write, network, spend\)/,
    );
    expect(await loadError(`${base}    context: { history: summary }\n`)).toMatch(
      /:8:25: agents\[0\]\.context\.history: unknown value "summary" \(known: full, window, compact\)/,
    );
    expect(await loadError(`${base}    timeout: soon\n`)).toMatch(
      /:8:14: agents\[0\]\.timeout: expected a duration such as "30s"/,
    );
    const budget = await loadError(`${base}    budget: { maxWallTime: 0s, maxCostUsd: -1 }\n`);
    expect(budget).toMatch(/:8:28: agents\[0\]\.budget\.maxWallTime: a duration must be longer than 0/);
    expect(budget).toMatch(/:8:44: agents\[0\]\.budget\.maxCostUsd: /);
    expect(await loadError(`${base}    retry: { attempts: 3 }\n`)).toMatch(
      /:8:14: agents\[0\]\.retry\.attempts: unknown key "attempts" \(allowed: maxAttempts, initialDelayMs, maxDelayMs\)/,
    );
    expect(await loadError(`${base}    model: [openai:gpt-4o, gpt4]\n`)).toMatch(
      /:8:28: agents\[0\]\.model\[1\]: expected "provider:model"/,
    );
    expect(await loadError(`${base}    model: []\n`)).toMatch(
      /:8:12: agents\[0\]\.model: list at least one model/,
    );
  });
});
