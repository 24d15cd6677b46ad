/** Baton's MCP server over Streamable HTTP, with the official SDK Client: `baton mcp serve --http` from the built CLI, and the `/mcp` mount of createServer behind API keys. */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/protocols/mcp/index.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';
import { approval, call, greet, keyWith, startServer } from '../server/server-fixtures.js';

/** An SDK client on `url`, sending `key` as a bearer token when given. */
async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'baton-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(
      new URL(url),
      key === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${key}` } } },
    ),
  );
  return client;
}

/** The HTTP status of a failed client call (StreamableHTTPError), or the error itself. */
async function statusOf(promise: Promise<unknown>): Promise<number | unknown> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof StreamableHTTPError ? error.code : error;
  }
}

describe('baton mcp serve --http', () => {
  let folder: string;
  let store: string;
  const env = offlineEnv();
  const children: ChildProcess[] = [];
  beforeAll(() => {
    assertCliBuilt();
    folder = mkdtempSync(join(tmpdir(), 'baton-mcp-http-'));
    store = join(folder, 'baton.db');
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(folder, { recursive: true, force: true });
  });

  /** Starts `baton mcp serve --http` (or `baton serve`) and resolves with its /mcp URL once it listens. */
  async function serve(
    args: string[],
    command: readonly string[] = ['mcp', 'serve', 'tests/mcp/fixtures/flows.ts', '--http'],
  ): Promise<{ url: string; child: ChildProcess; output: () => string }> {
    const child = spawn(
      process.execPath,
      [join(repo, 'dist/cli/main.js'), ...command, ...args, '--store', store],
      {
        cwd: repo,
        env,
      },
    );
    children.push(child);
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baton mcp serve did not start: ${output}`)), 30_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = / on (http:\/\/[^ /]+)(\/mcp)? \(store/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(`${match[1]}/mcp`);
        }
      });
      child.once('exit', (code) => reject(new Error(`baton mcp serve exited ${code}: ${output}`)));
    });
    return { url, child, output: () => output };
  }

  it('serves the tools behind API keys: 401 without one, calls with progress with one; SIGTERM stops it', async () => {
    const server = await serve(['--port', '0']);
    expect(server.output()).toContain('No API key yet: every request gets 401.');
    expect(await statusOf(connect(server.url))).toBe(401);
    const created = runBaton(env, ['keys', 'create', '--scope', 'read,run', '--store', store]);
    expect(created.code, created.stderr).toBe(0);
    const client = await connect(server.url, created.stdout.trim());
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('count');
      const progress: (string | undefined)[] = [];
      const result = await client.callTool({ name: 'count', arguments: { steps: 3 } }, undefined, {
        onprogress: (notification) => progress.push(notification.message),
      });
      expect(result.content).toContainEqual({ type: 'text', text: 'counted to 3' });
      expect(progress).toEqual([
        expect.stringMatching(/^run run_\w+ started$/),
        'step step-1 completed',
        'step step-2 completed',
        'step step-3 completed',
        'run completed',
      ]);
      const runId = (result._meta as Record<string, string>)['baton/runId'] as string;
      const shown = runBaton(env, ['show', runId, '--store', store]);
      expect(shown.stdout).toMatch(/status +completed/);
    } finally {
      await client.close();
    }
    server.child.kill('SIGTERM');
    expect(await new Promise((resolve) => server.child.once('exit', resolve))).toBe(0);
    expect(server.output()).toContain('SIGTERM: stopping.');
  }, 60_000);

  it('serves without keys with --no-auth, only on a loopback host', async () => {
    const refused = runBaton(env, [
      'mcp',
      'serve',
      'tests/mcp/fixtures/flows.ts',
      '--http',
      '--no-auth',
      '--host',
      '0.0.0.0',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--no-auth serves without keys, so only on a loopback --host');
    expect(runBaton(env, ['mcp', 'serve', 'tests/mcp/fixtures/flows.ts', '--port', '80']).stderr).toContain(
      '--port applies to --http only.',
    );
    const server = await serve(['--port', '0', '--no-auth']);
    const client = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'greet', arguments: { name: 'Lin' } });
      expect(result.structuredContent).toEqual({ greeting: 'Hello, Lin' });
    } finally {
      await client.close();
      server.child.kill('SIGTERM');
    }
  }, 60_000);

  it('baton serve --mcp mounts MCP at /mcp beside the REST routes', async () => {
    const server = await serve(
      ['--port', '0', '--no-auth', '--mcp'],
      ['serve', 'tests/mcp/fixtures/flows.ts'],
    );
    expect(server.output()).toContain('/mcp (read lists and reads, run calls tools).');
    const client = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'greet', arguments: { name: 'Kim' } });
      expect(result.structuredContent).toEqual({ greeting: 'Hello, Kim' });
      expect((await call(server.url.replace('/mcp', '/v1/targets'))).status).toBe(200);
    } finally {
      await client.close();
      server.child.kill('SIGTERM');
    }
  }, 60_000);
});

describe('createServer({ mcp }) at /mcp', () => {
  const store = createMemoryStore();
  let stop: () => Promise<void>;
  let url: string;
  const clients: Client[] = [];
  beforeAll(async () => {
    const started = await startServer(store, { mcp: createMcpServer });
    stop = started.stop;
    url = `${started.server.url}/mcp`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => stop());

  it('needs a key: 401 without one or with an unknown one', async () => {
    expect(await statusOf(connect(url))).toBe(401);
    expect(await statusOf(connect(url, 'bk_unknown'))).toBe(401);
    const answer = await call(url, { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('lets a read-only key list tools and runs, and answers its tool call with 403', async () => {
    const client = await connect(url, await keyWith(store, ['read']));
    clients.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'greet',
      'approval',
      'helper',
    ]);
    expect((await client.listResourceTemplates()).resourceTemplates).toHaveLength(1);
    const refused = client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
    await expect(refused).rejects.toBeInstanceOf(StreamableHTTPError);
    await expect(refused).rejects.toMatchObject({ code: 403 });
    await expect(refused).rejects.toThrow(
      /MCP tools\/call needs a key with scope \\"run\\"; this key has read/,
    );
    expect(await store.listRuns({})).toEqual([]);
  });

  it('lets a read,run key call a tool: a durable run in the store, readable as a resource', async () => {
    const client = await connect(url, await keyWith(store, ['read', 'run']));
    clients.push(client);
    const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
    expect(result.content).toContainEqual({ type: 'text', text: 'Hello, Ada' });
    const runId = (result._meta as Record<string, string>)['baton/runId'] as string;
    expect(await store.getRun(runId)).toMatchObject({
      target: 'greet',
      status: 'completed',
      output: 'Hello, Ada',
    });
    const read = await client.readResource({ uri: `baton://runs/${runId}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({
      id: runId,
      status: 'completed',
    });
    const bad = await client.callTool({ name: 'greet', arguments: {} });
    expect(bad).toMatchObject({
      isError: true,
      content: [
        {
          type: 'text',
          text: 'Invalid arguments for tool "greet": name: Invalid input: expected string, received undefined.',
        },
      ],
    });
  });

  it('limits a key with targets to their tools and runs', async () => {
    const all = await connect(url, await keyWith(store, ['read', 'run']));
    clients.push(all);
    const waiting = await all.callTool({ name: 'approval', arguments: { amount: 5 } });
    const waitingId = (waiting._meta as Record<string, string>)['baton/runId'] as string;
    const limited = await connect(url, await keyWith(store, ['read', 'run'], ['greet']));
    clients.push(limited);
    expect((await limited.listTools()).tools.map((tool) => tool.name)).toEqual(['greet', 'signal_run']);
    const listed = (await limited.listResources()).resources.map((resource) => resource.title);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((title) => title?.startsWith('greet:'))).toBe(true);
    await expect(limited.readResource({ uri: `baton://runs/${waitingId}` })).rejects.toThrow(
      /does not reach runs of "approval"/,
    );
    const refused = await limited.callTool({
      name: 'signal_run',
      arguments: { runId: waitingId, signal: 'approval', payload: { approved: true } },
    });
    expect(refused).toMatchObject({ isError: true });
    await expect(limited.callTool({ name: 'approval', arguments: { amount: 1 } })).rejects.toThrow(
      /Unknown tool "approval"/,
    );
  });

  it('answers GET with 405 (stateless: no event stream) and leaves the REST routes as they were', async () => {
    const key = await keyWith(store, ['read']);
    const get = await fetch(url, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    });
    expect(get.status).toBe(405);
    expect((await call(url.replace('/mcp', '/v1/targets'), { key })).status).toBe(200);
  });

  it('is not mounted without the option', async () => {
    const other = await startServer(createMemoryStore(), { targets: [greet, approval] });
    try {
      const key = await keyWith(other.runtime.store, ['admin']);
      expect((await call(`${other.server.url}/mcp`, { key, body: {} })).status).toBe(404);
    } finally {
      await other.stop();
    }
  });
});
