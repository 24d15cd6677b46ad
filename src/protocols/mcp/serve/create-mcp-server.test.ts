import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflow } from '../../../core/runnable.js';
import { createRuntime } from '../../../core/runtime.js';
import { createMemoryStore } from '../../../stores/memory/index.js';
import { type BatonMcpServer, createMcpServer, type McpServerOptions } from '../index.js';

const shout = workflow({ name: 'shout', input: z.string().min(1) }, async (ctx, text: string) =>
  ctx.step('upper', () => text.toUpperCase()),
);
const failing = workflow({ name: 'failing' }, async (ctx) =>
  ctx.step('boom', () => {
    throw new Error('the printer is on fire');
  }),
);

const open: { client: Client; mcp: BatonMcpServer }[] = [];
afterEach(async () => {
  for (const { client, mcp } of open.splice(0)) {
    await client.close();
    await mcp.close();
  }
});

/** A client connected in memory to a Baton MCP server over a fresh runtime. */
async function connected(
  options: Partial<McpServerOptions> = {},
  access?: Parameters<BatonMcpServer['connect']>[1],
) {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const mcp = createMcpServer({ runtime, targets: [shout, failing], ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide, access);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  open.push({ client, mcp });
  return { client, runtime, mcp };
}

describe('createMcpServer', () => {
  it('wraps an input that is not an object as { input } and checks it with the target schema', async () => {
    const { client } = await connected();
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'shout')?.inputSchema).toEqual({
      type: 'object',
      properties: { input: { type: 'string', minLength: 1 } },
      required: ['input'],
      additionalProperties: false,
    });
    expect((await client.callTool({ name: 'shout', arguments: { input: 'hey' } })).content).toContainEqual({
      type: 'text',
      text: 'HEY',
    });
    const empty = await client.callTool({ name: 'shout', arguments: { input: '' } });
    expect(empty).toMatchObject({ isError: true });
    expect((empty.content as { text: string }[])[0]?.text).toMatch(
      /^Invalid arguments for tool "shout": input: Too small/,
    );
    expect((await client.callTool({ name: 'shout', arguments: {} })).content).toEqual([
      { type: 'text', text: 'Invalid arguments for tool "shout": input: required.' },
    ]);
  });

  it('answers a failed run with an error result naming the run and the error', async () => {
    const { client } = await connected();
    const result = await client.callTool({ name: 'failing', arguments: {} });
    const runId = (result._meta as Record<string, string>)['baton/runId'];
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]?.text).toMatch(
      new RegExp(`^Baton run ${runId} of "failing" failed: the printer is on fire.*baton show ${runId}`),
    );
  });

  it('pages the runs it lists, newest first', async () => {
    const { client } = await connected({ listLimit: 2 });
    const ids: string[] = [];
    for (const text of ['a', 'b', 'c']) {
      const result = await client.callTool({ name: 'shout', arguments: { input: text } });
      ids.push((result._meta as Record<string, string>)['baton/runId'] as string);
    }
    const first = await client.listResources();
    expect(first.resources.map((resource) => resource.name)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await client.listResources({ cursor: first.nextCursor as string });
    expect(second.resources.map((resource) => resource.name)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
    await expect(client.listResources({ cursor: 'nonsense' })).rejects.toThrow(/cursor: not a nextCursor/);
  });

  it('offers no signal tool with signalTool: false, and refuses a target named like it', async () => {
    const { client } = await connected({ signalTool: false });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['shout', 'failing']);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const clash = workflow({ name: 'signal_run' }, async () => 'x');
    expect(() => createMcpServer({ runtime, targets: [clash] })).toThrow(
      /a target is named "signal_run", like the signal tool; rename it or pass signalTool/,
    );
  });

  it('keeps a connection within its access: no calls without call, only its targets', async () => {
    const { client } = await connected({}, { access: { call: false, targets: ['shout'] } });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['shout']);
    await expect(client.callTool({ name: 'shout', arguments: { input: 'x' } })).rejects.toThrow(
      /tools\/call is not allowed on this connection \(its API key needs scope "run"\)/,
    );
  });
});
