import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStubServer, type StubRequest, type StubServer } from '../../src/testing/index.js';

// The demo's command with a model configured: the CLI resolves BATON_MODEL to the real
// AI SDK OpenAI-compatible client, which talks HTTP to Baton's stub server. Nothing in the
// command changes between offline and live; only the environment does.
const repo = join(import.meta.dirname, '..', '..');
const main = join(repo, 'dist', 'cli', 'main.js');
const scratch = mkdtempSync(join(tmpdir(), 'baton-cli-live-'));
let stub: StubServer;

/** A stand-in for a real model: decides each turn from the tools offered and the conversation. */
function supportModel({ body }: StubRequest) {
  const tools = new Set((body.tools ?? []).map((entry) => entry.function.name));
  const toolMessages = (body.messages ?? []).filter((message) => message.role === 'tool');
  const lastTool = JSON.stringify(toolMessages.at(-1) ?? '');
  if (tools.has('transfer_to_billing')) {
    return toolMessages.length === 0
      ? { toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-1001' } }] }
      : {
          toolCalls: [
            { name: 'transfer_to_billing', arguments: { orderId: 'A-1001', summary: 'Duplicate charge.' } },
          ],
        };
  }
  if (tools.has('refund_order')) {
    if (lastTool.includes('refundId')) return { text: 'Live model here: the duplicate charge is refunded.' };
    return {
      toolCalls: [
        {
          name: 'refund_order',
          arguments: { orderId: 'A-1001', chargeId: 'ch_1001_2', reason: 'duplicate' },
        },
      ],
    };
  }
  return { text: 'unexpected agent' };
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { cwd: repo, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  if (!existsSync(main))
    throw new Error(`${main} is missing: build first with \`npm run build\` (npm test does it).`);
  stub = await createStubServer({ handler: supportModel });
});
afterAll(async () => {
  await stub.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the demo command with a configured model', () => {
  it('uses the real provider client over HTTP instead of the offline script', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NO_COLOR: '1',
      BATON_MODEL: 'openai-compatible:stub-model',
      OPENAI_COMPATIBLE_BASE_URL: stub.url,
    };
    delete env.OPENAI_API_KEY;
    const { code, stdout, stderr } = await runCli(
      [
        'run',
        'examples/customer-support/team.yaml',
        'I was charged twice for my order A-1001.',
        '--store',
        join(scratch, 'runs.db'),
      ],
      env,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain('running offline');
    expect(stdout).toContain('⇢ triage → billing');
    expect(stdout).toContain('→ refund_order');
    expect(stdout).toContain('Live model here: the duplicate charge is refunded.');
    // Every model turn went over HTTP: triage twice, billing twice.
    expect(stub.requests.map((request) => request.body.model)).toEqual([
      'stub-model',
      'stub-model',
      'stub-model',
      'stub-model',
    ]);
    expect(JSON.stringify(stub.requests[0]?.body.messages)).toContain(
      'You are the first contact for customers of Acme Store.',
    );
  });
});
