import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../agents/agent.js';
import type { BatonError } from '../../core/errors.js';
import { createRuntime } from '../../core/runtime.js';
import { createMemoryStore } from '../../stores/memory/index.js';
import { scriptedModel } from '../../testing/scripted-model.js';
import { type McpToolSet, mcpTools } from './index.js';

// Real servers, no mocks: a small MCP server built with the SDK's McpServer, spawned over stdio
// or served over Streamable HTTP in this process.
const require = createRequire(import.meta.url);
const repositoryRoot = dirname(require.resolve('@modelcontextprotocol/sdk/package.json')).replace(
  /\/node_modules\/.*$/,
  '',
);

/** A stdio server with `add` and `learn-multiply` (which adds a `multiply` tool at runtime). Exits at start while GONE_FLAG exists. */
const stdioScript = `
import { existsSync, writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
if (process.env.GONE_FLAG && existsSync(process.env.GONE_FLAG)) {
  console.error('license expired');
  process.exit(3);
}
const server = new McpServer({ name: 'tiny', version: '1' });
server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() },
  annotations: { idempotentHint: true } }, async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
server.registerTool('learn-multiply', { description: 'Adds a multiply tool' }, async () => {
  server.registerTool('multiply', { description: 'Multiplies two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a * b) }] }));
  return { content: [{ type: 'text', text: 'learned' }] };
});
// With CRASH_FLAG: a tool that crashes in the middle of its first call (the flag marks that it did), then answers.
if (process.env.CRASH_FLAG) server.registerTool('crashing-add', { description: 'Adds, after crashing once',
  inputSchema: { a: z.number(), b: z.number() }, annotations: { idempotentHint: process.env.CRASH_IDEMPOTENT === '1' } },
  async ({ a, b }) => {
    if (!existsSync(process.env.CRASH_FLAG)) {
      writeFileSync(process.env.CRASH_FLAG, '');
      process.exit(1);
    }
    return { content: [{ type: 'text', text: String(a + b) }] };
  });
await server.connect(new StdioServerTransport());
`;

function stdioServer(env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: ['--input-type=module', '-e', stdioScript],
    cwd: repositoryRoot,
    env,
  };
}

function toolContext(signal = new AbortController().signal) {
  return { runId: 'r', agent: 'a', toolCallId: 'c', idempotencyKey: 'k', signal };
}

/** A scripted model that calls `tool` with `input`, then answers with the tool result it saw. */
function toolThenEcho(tool: string, input: unknown) {
  return scriptedModel(({ turn, prompt }) => {
    if (turn === 0) return { toolCalls: [{ tool, input }] };
    const last = prompt.at(-1);
    const part = last?.role === 'tool' ? last.content[0] : undefined;
    return { text: `saw ${JSON.stringify(part?.type === 'tool-result' ? part.output : undefined)}` };
  });
}

function tool(source: McpToolSet, name: string) {
  const found = source.tools.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no tool ${name} in ${source.tools.map((t) => t.name)}`);
  return found;
}

async function failure(promise: Promise<unknown>): Promise<BatonError & { errorClass?: string }> {
  return (await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  )) as BatonError & { errorClass?: string };
}

const open: McpToolSet[] = [];
const servers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const source of open.splice(0)) await source.close();
  for (const server of servers.splice(0)) await server.stop();
});

async function connect(...args: Parameters<typeof mcpTools>): Promise<McpToolSet> {
  const source = await mcpTools(...args);
  open.push(source);
  return source;
}

describe('mcpTools reconnects over stdio', () => {
  it('runs the next call on a fresh server after the process was killed', async () => {
    const tiny = await connect(stdioServer(), { name: 'tiny' });
    expect(await tool(tiny, 'add').execute({ a: 1, b: 2 }, toolContext())).toBe('3');
    const firstPid = tiny.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => !tiny.connected);

    expect(await tool(tiny, 'add').execute({ a: 20, b: 22 }, toolContext())).toBe('42');
    expect(tiny.connected).toBe(true);
    expect(tiny.pid).toBeGreaterThan(0);
    expect(tiny.pid).not.toBe(firstPid);
  }, 30_000);

  it('shares one reconnect among concurrent calls', async () => {
    const tiny = await connect(stdioServer(), { name: 'tiny' });
    process.kill(tiny.pid!, 'SIGKILL');
    await waitUntil(() => !tiny.connected);
    const spawned: number[] = [];
    const answers = await Promise.all(
      Array.from({ length: 5 }, async (_, index) => {
        const answer = await tool(tiny, 'add').execute({ a: index, b: 1 }, toolContext());
        spawned.push(tiny.pid!);
        return answer;
      }),
    );
    expect(answers).toEqual(['1', '2', '3', '4', '5']);
    expect(new Set(spawned).size).toBe(1);
  }, 30_000);

  it('retries a call cut off by a crash when the tool is idempotent, through the policies of an agent', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-mcp-'));
    try {
      const tiny = await connect(
        stdioServer({ CRASH_FLAG: join(directory, 'crashed'), CRASH_IDEMPOTENT: '1' }),
        { name: 'tiny', include: ['crashing-add'] },
      );
      expect(tiny.tools[0]?.idempotent).toBe(true);
      const runtime = createRuntime({ store: createMemoryStore(), recover: false });
      const adder = agent({
        name: 'adder',
        instructions: 'Add.',
        model: toolThenEcho('crashing-add', { a: 2, b: 3 }),
        tools: tiny.tools,
      });
      const handle = await runtime.start(adder, '2 + 3?');
      expect(await handle.result()).toBe('saw {"type":"text","value":"5"}');
      const step = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'tool:crashing-add');
      expect(step?.meta).toMatchObject({ attempts: 2 });
      await runtime.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 30_000);

  it('reports a call cut off by a crash as transient MCP_DISCONNECTED when the tool is not idempotent', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-mcp-'));
    try {
      const tiny = await connect(stdioServer({ CRASH_FLAG: join(directory, 'crashed') }), {
        name: 'tiny',
        include: ['crashing-add'],
      });
      const crashingAdd = tiny.tools[0]!;
      const error = await failure(Promise.resolve(crashingAdd.execute({ a: 1, b: 1 }, toolContext())));
      expect(error.code).toBe('MCP_DISCONNECTED');
      expect(error.errorClass).toBe('transient');
      expect(error.message).toMatch(
        /connection to MCP server "tiny" was lost during a call of tool crashing-add .*may or may not have run/,
      );
      // The next call reconnects.
      expect(await crashingAdd.execute({ a: 1, b: 1 }, toolContext())).toBe('2');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 30_000);

  it('ends in MCP_UNREACHABLE naming the server and each attempt when it stays down', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-mcp-'));
    const flag = join(directory, 'gone');
    try {
      const tiny = await connect(stdioServer({ GONE_FLAG: flag }), {
        name: 'tiny',
        reconnect: { maxAttempts: 2, delayMs: 50 },
      });
      writeFileSync(flag, '');
      process.kill(tiny.pid!, 'SIGKILL');
      await waitUntil(() => !tiny.connected);
      const started = Date.now();
      const error = await failure(Promise.resolve(tool(tiny, 'add').execute({ a: 1, b: 1 }, toolContext())));
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error.code).toBe('MCP_UNREACHABLE');
      expect(error.fault).toBe('tool');
      expect(error.errorClass).toBe('transient');
      expect(error.message).toMatch(/MCP server "tiny" is unreachable, so tool add cannot run/);
      expect(error.message).toMatch(/2 reconnect attempts over \d+ ms failed \(1: .*license expired.*; 2: /);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 30_000);

  it('stops reconnecting once closed', async () => {
    const tiny = await connect(stdioServer(), { name: 'tiny' });
    const add = tool(tiny, 'add');
    process.kill(tiny.pid!, 'SIGKILL');
    await waitUntil(() => !tiny.connected);
    await tiny.close();
    const error = await failure(Promise.resolve(add.execute({ a: 1, b: 1 }, toolContext())));
    expect(error.code).toBe('MCP_CLOSED');
    expect(error.message).toMatch(/MCP server "tiny" was closed with close\(\); tool add cannot run/);
    expect(tiny.pid).toBeUndefined();
    expect(tiny.connected).toBe(false);
  }, 30_000);

  it('leaves a lost connection lost with reconnect: false', async () => {
    const tiny = await connect(stdioServer(), { name: 'tiny', reconnect: false });
    process.kill(tiny.pid!, 'SIGKILL');
    await waitUntil(() => !tiny.connected);
    const error = await failure(Promise.resolve(tool(tiny, 'add').execute({ a: 1, b: 1 }, toolContext())));
    expect(error.code).toBe('MCP_DISCONNECTED');
    expect(error.errorClass).toBe('recoverable');
    expect(error.message).toMatch(/no longer connected .* reconnect is off/);
    expect(tiny.pid).toBeUndefined();
  }, 30_000);
});

describe('mcpTools follows tool list changes', () => {
  it('lists the tools again on notifications/tools/list_changed, for agents defined afterwards', async () => {
    const tiny = await connect(stdioServer(), { name: 'tiny' });
    const add = tool(tiny, 'add');
    expect(tiny.tools.map((t) => t.name).sort()).toEqual(['add', 'learn-multiply']);
    const seen: string[][] = [];
    const unsubscribe = tiny.onToolsChange((tools) => seen.push(tools.map((t) => t.name).sort()));

    expect(await tool(tiny, 'learn-multiply').execute({}, toolContext())).toBe('learned');
    await waitUntil(() => seen.length > 0);
    expect(seen).toEqual([['add', 'learn-multiply', 'multiply']]);
    expect(tool(tiny, 'add')).toBe(add);
    expect(await tool(tiny, 'multiply').execute({ a: 6, b: 7 }, toolContext())).toBe('42');

    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(({ turn }) =>
      turn === 0 ? { toolCalls: [{ tool: 'multiply', input: { a: 3, b: 4 } }] } : { text: 'done' },
    );
    const multiplier = agent({ name: 'multiplier', instructions: 'Multiply.', model, tools: tiny.tools });
    expect(await (await runtime.start(multiplier, '3 * 4?')).result()).toBe('done');
    expect(model.calls[0]?.tools?.map((offered) => offered.name)).toContain('multiply');
    await runtime.close();

    unsubscribe();
    expect(await tiny.refreshTools()).toHaveLength(3);
    expect(seen).toHaveLength(1);
  }, 30_000);
});

describe('mcpTools reconnects over Streamable HTTP', () => {
  it('opens a new session after the server restarted, once for concurrent calls', async () => {
    const port = await freePort();
    const first = await startHttpServer(port);
    const remote = await connect({ url: `http://127.0.0.1:${port}/mcp` }, { name: 'remote' });
    expect(await tool(remote, 'add').execute({ a: 1, b: 2 }, toolContext())).toBe('3');
    expect(first.sessions).toBe(1);
    await first.stop();
    // The server cut the session's event stream: the source knows before the next call.
    await waitUntil(() => !remote.connected);

    const second = await startHttpServer(port);
    const answers = await Promise.all(
      [1, 2, 3].map((a) => tool(remote, 'add').execute({ a, b: 10 }, toolContext())),
    );
    expect(answers).toEqual(['11', '12', '13']);
    expect(second.sessions).toBe(1);
    expect(remote.connected).toBe(true);
  }, 30_000);

  it('opens a new session when the server answers 404 for the old one, and resends the call', async () => {
    const port = await freePort();
    const server = await startHttpServer(port);
    const remote = await connect({ url: `http://127.0.0.1:${port}/mcp` }, { name: 'remote' });
    server.forgetSessions();
    expect(remote.connected).toBe(true);
    expect(await tool(remote, 'add').execute({ a: 4, b: 5 }, toolContext())).toBe('9');
    expect(server.sessions).toBe(1);
  }, 30_000);

  it('ends in MCP_UNREACHABLE within a bounded time when the server is gone for good', async () => {
    const port = await freePort();
    const server = await startHttpServer(port);
    const remote = await connect({ url: `http://127.0.0.1:${port}/mcp` }, { name: 'remote' });
    await server.stop();
    await waitUntil(() => !remote.connected);
    const started = Date.now();
    const error = await failure(Promise.resolve(tool(remote, 'add').execute({ a: 1, b: 1 }, toolContext())));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('MCP_UNREACHABLE');
    expect(error.errorClass).toBe('transient');
    expect(error.message).toMatch(
      /MCP server "remote" is unreachable, so tool add cannot run: the connection was lost \(SSE stream disconnected: .*\) and 3 reconnect attempts over \d+ ms failed \(1: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+; 2: .*; 3: .*\)/,
    );

    // Inside an agent the error reaches the model after the policies gave up, not a hang.
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(({ turn, prompt }) => {
      if (turn === 0) return { toolCalls: [{ tool: 'add', input: { a: 1, b: 1 } }] };
      return { text: JSON.stringify(prompt.at(-1)) };
    });
    const adder = agent({ name: 'adder', instructions: 'Add.', model, tools: remote.tools });
    const answer = (await (await runtime.start(adder, '1 + 1?')).result()) as string;
    expect(answer).toContain('MCP server \\"remote\\" is unreachable');
    expect(Date.now() - started).toBeLessThan(20_000);
    await runtime.close();
  }, 30_000);

  it('stops a reconnect in progress when closed', async () => {
    const port = await freePort();
    const server = await startHttpServer(port);
    const remote = await connect(
      { url: `http://127.0.0.1:${port}/mcp` },
      { name: 'remote', reconnect: { maxAttempts: 5, delayMs: 5_000 } },
    );
    await server.stop();
    await waitUntil(() => !remote.connected);
    const started = Date.now();
    const pending = failure(Promise.resolve(tool(remote, 'add').execute({ a: 1, b: 1 }, toolContext())));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await remote.close();
    const error = await pending;
    expect(error.code).toBe('MCP_CLOSED');
    expect(Date.now() - started).toBeLessThan(2_000);
  }, 30_000);
});

/** A Streamable HTTP MCP server with one `add` tool, one McpServer per session; unknown sessions get 404 as the spec says. */
async function startHttpServer(port: number) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createHttpServer((request, response) => {
    void (async () => {
      const sessionId = request.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (typeof sessionId === 'string' && transport === undefined) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
        );
        return;
      }
      if (transport === undefined) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, created);
          },
        });
        const mcp = new McpServer({ name: 'tiny-http', version: '1' });
        mcp.registerTool(
          'add',
          { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
          async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
        );
        await mcp.connect(created);
        transport = created;
      }
      await transport.handleRequest(request, response);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  http.listen(port, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  const server = {
    get sessions() {
      return sessions.size;
    },
    /** Forgets every session, as a restart behind a load balancer or a session expiry would. */
    forgetSessions() {
      sessions.clear();
    },
    /** Stops like a crash: connections are cut, nothing is said to clients. */
    async stop() {
      const index = servers.indexOf(server);
      if (index >= 0) servers.splice(index, 1);
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  servers.push(server);
  return server;
}

async function freePort(): Promise<number> {
  const probe = createNetServer();
  probe.listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
