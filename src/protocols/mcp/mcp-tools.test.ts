import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../agents/agent.js';
import type { BatonError } from '../../core/errors.js';
import { createRuntime } from '../../core/runtime.js';
import { createMemoryStore } from '../../stores/memory/index.js';
import { scriptedModel } from '../../testing/scripted-model.js';
import { tool } from '../../tools/tool.js';
import { type McpToolSet, mcpTools } from './index.js';

// The real reference server from npm, spawned with node: no mocks.
const require = createRequire(import.meta.url);
const everythingPackage = require.resolve('@modelcontextprotocol/server-everything/package.json');
const everythingBin = join(
  dirname(everythingPackage),
  (require(everythingPackage) as { bin: Record<string, string> }).bin['mcp-server-everything']!,
);
const stdioServer = { command: process.execPath, args: [everythingBin, 'stdio'] };

function setup() {
  return createRuntime({ store: createMemoryStore(), recover: false });
}

/** A scripted model that calls `tool` with `input`, then answers with the tool result it saw. */
function callingModel(tool: string, input: unknown) {
  return scriptedModel(({ turn, prompt }) => {
    if (turn === 0) return { toolCalls: [{ tool, input }] };
    const last = prompt.at(-1);
    const part = last?.role === 'tool' ? last.content[0] : undefined;
    const output = part?.type === 'tool-result' ? part.output : undefined;
    return { text: `saw ${JSON.stringify(output)}` };
  });
}

describe('mcpTools over stdio', () => {
  let everything: McpToolSet;
  beforeAll(async () => {
    everything = await mcpTools(stdioServer, { name: 'everything' });
  }, 30_000);
  afterAll(async () => {
    await everything.close();
  });

  it('lists the server tools with their JSON Schemas and runs one for an agent', async () => {
    const names = everything.tools.map((candidate) => candidate.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    const sum = everything.tools.find((candidate) => candidate.name === 'get-sum')!;
    expect(sum.jsonSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' } } });
    expect(sum.idempotent).toBe(true);

    const runtime = setup();
    const model = callingModel('get-sum', { a: 19, b: 23 });
    const calculator = agent({
      name: 'calculator',
      instructions: 'Add with your tool.',
      model,
      tools: everything.select({ include: ['get-sum'] }),
    });
    const handle = await runtime.start(calculator, 'What is 19 + 23?');
    expect(await handle.result()).toBe('saw {"type":"text","value":"The sum of 19 and 23 is 42."}');
    expect(model.calls[0]?.tools?.map((offered) => offered.name)).toEqual(['get-sum']);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'model:calculator',
      'tool:get-sum',
      'model:calculator',
    ]);
    await runtime.close();
  });

  it('routes among hundreds of tools, MCP tools included', async () => {
    const generated = Array.from({ length: 300 }, (_, index) =>
      tool({
        name: `record_${index}`,
        description: `Stores record number ${index} in the archive`,
        input: z.object({ id: z.string() }),
        execute: () => 'stored',
      }),
    );
    const runtime = setup();
    const model = callingModel('echo', { message: 'ping' });
    const router = agent({
      name: 'router',
      instructions: 'Use the right tool.',
      model,
      tools: [...generated, ...everything.tools],
      toolRouting: { maxTools: 5 },
    });
    const handle = await runtime.start(router, 'Echo back this message: ping');
    expect(await handle.result()).toBe('saw {"type":"text","value":"Echo: ping"}');
    const offered = model.calls[0]!.tools!.map((entry) => entry.name);
    expect(offered).toContain('echo');
    expect(offered.length).toBeLessThanOrEqual(6);
    await runtime.close();
  });

  it('filters tools per agent with include and exclude, and rejects unknown names', () => {
    expect(
      everything.select({ include: ['echo', 'get-sum'], exclude: ['get-sum'] }).map((t) => t.name),
    ).toEqual(['echo']);
    expect(everything.select({ exclude: ['echo'] }).some((t) => t.name === 'echo')).toBe(false);
    expect(() => everything.select({ include: ['no-such-tool'] })).toThrow(/no tool named "no-such-tool"/);
  });

  it('sends invalid arguments back to the model before calling the server', async () => {
    const runtime = setup();
    const model = callingModel('echo', { message: 42 });
    const echoer = agent({
      name: 'echoer',
      instructions: 'Echo.',
      model,
      tools: everything.select({ include: ['echo'] }),
    });
    const handle = await runtime.start(echoer, 'echo 42');
    expect(await handle.result()).toMatch(/error-text.*Invalid arguments for echo: message/);
    await runtime.close();
  });

  it('turns a tool error reported by the server into MCP_TOOL_ERROR, recoverable by the model', async () => {
    const echo = everything.tools.find((candidate) => candidate.name === 'echo')!;
    // Bypass Baton's own check so the server's validation answers.
    const error = (await Promise.resolve()
      .then(() => echo.execute({ message: 42 }, toolContext()))
      .catch((caught: unknown) => caught)) as BatonError & { errorClass?: string };
    expect(error.code).toBe('MCP_TOOL_ERROR');
    expect(error.fault).toBe('tool');
    expect(error.errorClass).toBe('recoverable');
    expect(error.message).toMatch(/MCP tool echo on "everything" reported an error: .*message/s);
  });

  it('gives MCP tools capabilities from their annotations, so a capability allow-list denies a writing, networked tool', async () => {
    const echo = everything.tools.find((candidate) => candidate.name === 'echo')!;
    const gzip = everything.tools.find((candidate) => candidate.name === 'gzip-file-as-resource')!;
    // echo: readOnlyHint true, openWorldHint false; gzip: readOnlyHint false, openWorldHint true.
    expect(echo.capabilities).toEqual(['read']);
    expect(gzip.capabilities).toEqual(['write', 'network']);

    const runtime = setup();
    const model = callingModel('gzip-file-as-resource', { name: 'a.gz', data: 'data:text/plain,hi' });
    const reader = agent({
      name: 'reader',
      instructions: 'Use your tools.',
      model,
      tools: [echo, gzip],
      permissions: { capabilities: ['read'] },
    });
    const handle = await runtime.start(reader, 'compress hi');
    expect(await handle.result()).toContain('it needs the capabilities write, network');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toContain('denied:gzip-file-as-resource');
    await runtime.close();
  });

  it('lets mcpTools({ capabilities }) replace what the annotations say, and rejects unknown tool names there', async () => {
    const declared = await mcpTools(stdioServer, {
      include: ['echo'],
      capabilities: { echo: ['read', 'spend'] },
    });
    try {
      expect(declared.tools[0]!.capabilities).toEqual(['read', 'spend']);
    } finally {
      await declared.close();
    }
    await expect(mcpTools(stdioServer, { capabilities: { ehco: ['read'] } })).rejects.toThrow(
      /no tool named "ehco"/,
    );
    await expect(mcpTools(stdioServer, { capabilities: { echo: ['root' as never] } })).rejects.toThrow(
      /capabilities\["echo"\]\[0\] is "root"/,
    );
  }, 30_000);

  it('prefixes tool names to keep servers apart', async () => {
    const prefixed = await mcpTools(stdioServer, { prefix: 'ev_', include: ['echo'] });
    try {
      expect(prefixed.tools.map((t) => t.name)).toEqual(['ev_echo']);
      const context = {
        runId: 'r',
        agent: 'a',
        toolCallId: 'c',
        idempotencyKey: 'k',
        signal: new AbortController().signal,
      };
      expect(await prefixed.tools[0]!.execute({ message: 'hi' }, context)).toBe('Echo: hi');
    } finally {
      await prefixed.close();
    }
    expect(prefixed.connected).toBe(false);
  }, 30_000);
});

describe('mcpTools failures', () => {
  it('reports a server that exits at start as MCP_CONNECT_FAILED with its stderr', async () => {
    const error = (await mcpTools(
      { command: process.execPath, args: ['-e', 'console.error("missing GITHUB_TOKEN"); process.exit(2)'] },
      { name: 'broken' },
    ).catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('MCP_CONNECT_FAILED');
    expect(error.fault).toBe('tool');
    expect(error.message).toMatch(/mcpTools\("broken"\): could not connect/);
    expect(error.message).toContain('missing GITHUB_TOKEN');
  });

  it('reconnects to a server that died between two calls of an agent', async () => {
    const everything = await mcpTools(stdioServer, { name: 'everything', include: ['echo'] });
    try {
      const runtime = setup();
      const pids: number[] = [];
      const model = scriptedModel(async ({ turn, prompt }) => {
        pids.push(everything.pid ?? 0);
        if (turn === 1) {
          // The server dies after the first call, before the second.
          process.kill(everything.pid!, 'SIGKILL');
          await waitUntil(() => !everything.connected);
        }
        if (turn < 2) return { toolCalls: [{ tool: 'echo', input: { message: `call ${turn}` } }] };
        const outputs = prompt.flatMap((message) =>
          message.role === 'tool'
            ? message.content.map((part) => (part.type === 'tool-result' ? part.output : undefined))
            : [],
        );
        return { text: JSON.stringify(outputs) };
      });
      const echoer = agent({ name: 'echoer', instructions: 'Echo.', model, tools: everything.tools });
      const handle = await runtime.start(echoer, 'echo twice');
      expect(await handle.result()).toBe(
        '[{"type":"text","value":"Echo: call 0"},{"type":"text","value":"Echo: call 1"}]',
      );
      expect(everything.connected).toBe(true);
      expect(everything.pid).not.toBe(pids[0]);
      const journal = await runtime.journal(handle.runId);
      expect(journal.filter((entry) => entry.name === 'tool:echo')).toHaveLength(2);
      await runtime.close();
    } finally {
      await everything.close();
    }
  }, 30_000);

  it('rejects a bad server definition when defining', async () => {
    await expect(mcpTools({} as never)).rejects.toThrow(/exactly one of them/);
    await expect(mcpTools({ url: 'not a url' })).rejects.toThrow(/is not a URL/);
  });
});

describe('mcpTools over Streamable HTTP', () => {
  let server: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = await freePort();
    server = spawn(process.execPath, [everythingBin, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    server.stderr!.on('data', (chunk) => {
      output += String(chunk);
    });
    await waitUntil(() => output.includes('listening on port'), 15_000);
    url = `http://127.0.0.1:${port}/mcp`;
  }, 30_000);
  afterAll(async () => {
    server.kill();
    if (server.exitCode === null) await once(server, 'exit');
  });

  it('runs a server tool for an agent over HTTP', async () => {
    const everything = await mcpTools({ url }, { include: ['echo', 'get-sum'] });
    try {
      expect(everything.server).toBe(new URL(url).host);
      expect(everything.pid).toBeUndefined();
      expect(everything.tools.map((t) => t.name).sort()).toEqual(['echo', 'get-sum']);
      const runtime = setup();
      const model = callingModel('echo', { message: 'over http' });
      const echoer = agent({ name: 'echoer', instructions: 'Echo.', model, tools: everything.tools });
      const handle = await runtime.start(echoer, 'echo over http');
      expect(await handle.result()).toBe('saw {"type":"text","value":"Echo: over http"}');
      await runtime.close();
    } finally {
      await everything.close();
    }
  }, 30_000);

  it('reports an unreachable URL as MCP_CONNECT_FAILED', async () => {
    const port = await freePort();
    const error = (await mcpTools({ url: `http://127.0.0.1:${port}/mcp` }).catch(
      (caught: unknown) => caught,
    )) as BatonError;
    expect(error.code).toBe('MCP_CONNECT_FAILED');
    expect(error.message).toMatch(/could not connect to the MCP server/);
  });
});

function toolContext() {
  return {
    runId: 'r',
    agent: 'a',
    toolCallId: 'c',
    idempotencyKey: 'k',
    signal: new AbortController().signal,
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
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
