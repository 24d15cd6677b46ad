/** `baton mcp serve` over stdio, driven by the official SDK Client spawning the built CLI: tools, runs in the store, progress, waits, resources. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';

let folder: string;
let store: string;
let client: Client;
let stderr = '';
const env = offlineEnv();

beforeAll(async () => {
  assertCliBuilt();
  folder = mkdtempSync(join(tmpdir(), 'baton-mcp-stdio-'));
  store = join(folder, 'baton.db');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(repo, 'dist/cli/main.js'), 'mcp', 'serve', 'tests/mcp/fixtures/flows.ts', '--store', store],
    cwd: repo,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  client = new Client({ name: 'baton-test', version: '1' });
  await client.connect(transport);
}, 30_000);

afterAll(async () => {
  await client?.close();
  rmSync(folder, { recursive: true, force: true });
});

/** The run id a tool result carries. */
function runIdOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result._meta as Record<string, string>)['baton/runId'] as string;
}

describe('baton mcp serve (stdio)', () => {
  it('offers each export as a tool with its input schema, plus signal_run', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'count',
      'expense',
      'greet',
      'helper',
      'review',
      'signal_run',
    ]);
    const greet = tools.find((tool) => tool.name === 'greet');
    expect(greet?.inputSchema).toMatchObject({
      type: 'object',
      properties: { name: { type: 'string', description: 'Who to greet' } },
      required: ['name'],
    });
    // An agent takes its task as { input: string }.
    expect(tools.find((tool) => tool.name === 'helper')).toMatchObject({
      description: expect.stringMatching(/^Answers briefly\. Each call is a durable Baton run/),
      inputSchema: { properties: { input: { type: 'string' } }, required: ['input'] },
    });
    expect(stderr).toContain('baton mcp: serving count, expense, greet, helper, review over stdio');
  });

  it('runs a tool call as a durable run that is in the store and that baton show sees', async () => {
    const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({ greeting: 'Hello, Ada' });
    const runId = runIdOf(result);
    expect(result.content).toEqual([
      { type: 'text', text: JSON.stringify({ greeting: 'Hello, Ada' }, null, 2) },
      expect.objectContaining({ type: 'resource_link', uri: `baton://runs/${runId}`, name: runId }),
    ]);
    const sqlite = createSqliteStore({ path: store });
    try {
      expect(await sqlite.getRun(runId)).toMatchObject({
        target: 'greet',
        status: 'completed',
        input: { name: 'Ada' },
        source: 'tests/mcp/fixtures/flows.ts#greet',
      });
      expect((await sqlite.loadJournal(runId)).map((entry) => entry.name)).toEqual(['hello']);
    } finally {
      await sqlite.close();
    }
    const shown = runBaton(env, ['show', runId, '--store', store]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/target +greet/);
  });

  it('sends a progress notification per step when the client gives a progressToken', async () => {
    const progress: { progress: number; message?: string | undefined }[] = [];
    const result = await client.callTool({ name: 'count', arguments: { steps: 4 } }, undefined, {
      onprogress: (notification) => progress.push(notification),
    });
    expect(result.content).toContainEqual({ type: 'text', text: 'counted to 4' });
    expect(progress.map((notification) => notification.message)).toEqual([
      `run ${runIdOf(result)} started`,
      'step step-1 completed',
      'step step-2 completed',
      'step step-3 completed',
      'step step-4 completed',
      'run completed',
    ]);
    expect(progress.map((notification) => notification.progress)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('answers a bad argument with an error result that names the argument, and an unknown tool with an MCP error', async () => {
    const bad = await client.callTool({ name: 'greet', arguments: { name: 42 } });
    expect(bad).toMatchObject({ isError: true });
    expect(bad.content).toEqual([
      {
        type: 'text',
        text: 'Invalid arguments for tool "greet": name: Invalid input: expected string, received number.',
      },
    ]);
    const extra = await client.callTool({ name: 'helper', arguments: { input: 'hi', mood: 'good' } });
    expect((extra.content as { text: string }[])[0]?.text).toBe(
      'Invalid arguments for tool "helper": mood: unknown argument (the only argument is "input").',
    );
    const unknown = client.callTool({ name: 'gret', arguments: {} });
    await expect(unknown).rejects.toBeInstanceOf(McpError);
    await expect(unknown).rejects.toThrow(
      /Unknown tool "gret"\. Tools: count, expense, greet, helper, review, signal_run/,
    );
  });

  it('answers a run that waits for a person with what it waits for, and signal_run continues it', async () => {
    const waiting = await client.callTool({ name: 'review', arguments: { input: 'otters' } });
    const runId = runIdOf(waiting);
    expect(waiting.isError).toBeUndefined();
    expect(waiting._meta).toMatchObject({ 'baton/status': 'suspended' });
    expect(waiting.structuredContent).toMatchObject({
      runId,
      status: 'suspended',
      waitingFor: [
        { kind: 'human', signal: 'human:lead', member: 'lead', prompt: 'Reply OK or say what to change.' },
      ],
    });
    const text = (waiting.content as { text: string }[])[0]?.text ?? '';
    expect(text).toContain(`Baton run ${runId} of "review" is waiting and has not finished.`);
    expect(text).toContain(`Call the tool signal_run with { "runId": "${runId}", "signal": "human:lead"`);
    expect(text).toContain(`baton reply ${runId} lead`);

    const refused = await client.callTool({
      name: 'signal_run',
      arguments: { runId: 'run_nope', signal: 'x' },
    });
    expect(refused.isError).toBe(true);
    const done = await client.callTool({
      name: 'signal_run',
      arguments: { runId, signal: 'human:lead', payload: 'Looks good' },
    });
    expect(done.content).toContainEqual({ type: 'text', text: 'Published after review: Looks good' });
    expect(done._meta).toMatchObject({ 'baton/runId': runId, 'baton/status': 'completed' });
  });

  it('refuses a signal payload the wait does not accept, saying why', async () => {
    const waiting = await client.callTool({ name: 'expense', arguments: { amount: 12 } });
    const runId = runIdOf(waiting);
    expect(waiting.structuredContent).toMatchObject({
      waitingFor: [{ kind: 'signal', signal: 'approval', schema: { type: 'object' } }],
    });
    const refused = await client.callTool({
      name: 'signal_run',
      arguments: { runId, signal: 'approval', payload: { approve: 'yes' } },
    });
    expect(refused.isError).toBe(true);
    expect((refused.content as { text: string }[])[0]?.text).toMatch(/was not sent to run .*approved/);
    const paid = await client.callTool({
      name: 'signal_run',
      arguments: { runId, signal: 'approval', payload: { approved: true } },
    });
    expect(paid.content).toContainEqual({ type: 'text', text: 'Paid EXP-12' });
  });

  it('lists runs as resources, newest first, and reads one as status, output and steps', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toEqual([expect.objectContaining({ uriTemplate: 'baton://runs/{runId}' })]);
    const started = await client.callTool({ name: 'count', arguments: { steps: 2 } });
    const runId = runIdOf(started);
    const { resources } = await client.listResources();
    expect(resources[0]).toMatchObject({
      uri: `baton://runs/${runId}`,
      name: runId,
      title: 'count: completed',
      mimeType: 'application/json',
    });
    // greet, count, review, expense and this count: the calls with bad arguments started none.
    expect(resources).toHaveLength(5);
    const read = await client.readResource({ uri: `baton://runs/${runId}` });
    const document = JSON.parse((read.contents[0] as { text: string }).text);
    expect(document).toMatchObject({
      id: runId,
      target: 'count',
      status: 'completed',
      input: { steps: 2 },
      output: 'counted to 2',
      stepCount: 2,
      steps: [
        { position: 1, name: 'step-1', kind: 'step', status: 'completed' },
        { position: 2, name: 'step-2', kind: 'step', status: 'completed' },
      ],
    });
    await expect(client.readResource({ uri: 'baton://runs/run_missing' })).rejects.toThrow(
      /Resource not found: baton:\/\/runs\/run_missing: no run run_missing in this store/,
    );
  });
});
