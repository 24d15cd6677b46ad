/** Team files declare MCP servers (mcp:) whose tools agents name or take whole; every mistake is reported at its line; commands need permission. */

import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryStore, createRuntime } from '../../src/index.js';
import { type LoadedTeam, loadTeamFile, TeamFileError } from '../../src/team/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { serveMcp } from './mcp-test-server.js';

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-mcp-'));
let counter = 0;

/** A calculator server: add, and one resource. */
function calculator(): McpServer {
  const server = new McpServer({ name: 'calc', version: '1' });
  server.registerTool(
    'add',
    {
      description: 'Adds two numbers',
      inputSchema: { a: z.number(), b: z.number() },
      annotations: { readOnlyHint: true },
    },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool('reset', { description: 'Forgets everything' }, async () => ({
    content: [{ type: 'text', text: 'reset' }],
  }));
  server.registerResource('rules', 'calc://rules', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'Round to two decimals.' }],
  }));
  return server;
}

let server: { url: string; close(): Promise<void> };
beforeAll(async () => {
  server = await serveMcp(calculator);
});
afterAll(async () => {
  await server.close();
  rmSync(workspace, { recursive: true, force: true });
});

function teamFile(yaml: string): string {
  const folder = join(workspace, `case-${counter++}`);
  mkdirSync(folder);
  const file = join(folder, 'team.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** The calculator's URL as a variable, so team files name it with ${CALC_URL}. */
const env = () => ({ CALC_URL: server.url });

async function loadError(
  file: string,
  options: Parameters<typeof loadTeamFile>[1] = {},
): Promise<TeamFileError> {
  const error = await loadTeamFile(file, { model: scriptedModel([]), env: env(), ...options }).then(
    (team) => team.close().then(() => undefined),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return error as TeamFileError;
}

describe('team files with mcp: servers', () => {
  it("gives agents the servers' tools by name or whole, and runs them as journaled steps", async () => {
    const file = teamFile(`name: desk
pattern: sequential
stages: [adder, keeper]
mcp:
  - name: calc
    url: \${CALC_URL}
    prefix: calc_
    resources: true
agents:
  - name: adder
    instructions: Add with your tool.
    tools: [calc_add]
  - name: keeper
    instructions: Read the rules.
    mcp: [calc]
`);
    const model = scriptedModel({
      adder: [{ toolCalls: [{ tool: 'calc_add', input: { a: 2, b: 3 } }] }, { text: 'It is 5.' }],
      keeper: [
        { toolCalls: [{ tool: 'calc_read_resource', input: { uri: 'calc://rules' } }] },
        { text: 'Round.' },
      ],
    });
    let team: LoadedTeam | undefined;
    try {
      team = await loadTeamFile(file, { model, env: env() });
      expect([...team.mcp.keys()]).toEqual(['calc']);
      expect([...team.tools.keys()]).toEqual([
        'calc_add',
        'calc_reset',
        'calc_list_resources',
        'calc_read_resource',
      ]);
      expect(team.tools.get('calc_add')?.capabilities).toEqual(['read', 'network']);
      const runtime = createRuntime({ store: createMemoryStore(), recover: false });
      const handle = await runtime.start(team.runnable, 'Add 2 and 3.');
      expect(await handle.result()).toBe('Round.');
      const journal = await runtime.journal(handle.runId);
      const tools = journal.filter((entry) => entry.kind === 'tool');
      expect(tools.map((entry) => [entry.name, entry.result])).toEqual([
        ['tool:calc_add', '5'],
        ['tool:calc_read_resource', 'Round to two decimals.'],
      ]);
      // adder got the one tool it named; keeper every tool of calc.
      const offered = model.calls.map((call) => call.tools?.map((tool) => tool.name));
      expect(offered[0]).toEqual(['calc_add']);
      expect(offered[2]).toEqual(['calc_add', 'calc_reset', 'calc_list_resources', 'calc_read_resource']);
      await runtime.close();
    } finally {
      await team?.close();
    }
    expect(team?.mcp.get('calc')?.connected).toBe(false);
  });

  it('reports each mistake at its line: command and url, unknown servers, unknown tools, unset variables', async () => {
    const file = teamFile(`name: desk
pattern: agent
mcp:
  - name: calc
    url: \${CALC_URL}
    command: calc-server
  - name: other
    url: http://127.0.0.1:1/mcp
    headers: { Authorization: "Bearer \${MISSING_TOKEN}" }
    args: [x]
  - name: empty
agents:
  - name: adder
    instructions: Add.
    mcp: [calk]
`);
    const error = await loadError(file);
    expect(
      error.problems.map(
        (problem) => `${problem.line}:${problem.column} ${problem.path}: ${problem.message}`,
      ),
    ).toEqual([
      expect.stringMatching(
        /^5:5 mcp\[0\]\.url: an MCP server has command: \(stdio.*\) or url: \(Streamable HTTP.*\), not both\.$/,
      ),
      expect.stringMatching(
        /^6:14 mcp\[0\]\.command: refused to start MCP server "calc" \(calc-server\): a team file runs commands only when allowed.*BATON_ALLOW_MCP_COMMANDS=1/,
      ),
      `9:31 mcp[1].headers.Authorization: \${MISSING_TOKEN} refers to the environment variable MISSING_TOKEN, which is not set; set it, or write the value here.`,
      '10:5 mcp[1].args: args: applies to a stdio server (command:); this one has url:.',
      '11:5 mcp[2]: MCP server "empty" needs command: (stdio: the command that starts it) or url: (Streamable HTTP: where it runs).',
      '15:11 agents[0].mcp[0]: unknown MCP server "calk" (declared: calc, other, empty). Did you mean "calc"?',
    ]);
  });

  it('lists the servers tools when an agent names one that does not exist, and refuses clashing names', async () => {
    const file = teamFile(`name: desk
pattern: agent
mcp:
  - { name: calc, url: "\${CALC_URL}", include: [add] }
agents:
  - name: adder
    instructions: Add.
    tools: [ad]
`);
    expect((await loadError(file)).message).toContain(
      'team.yaml:8:13: agents[0].tools[0]: unknown tool "ad" (MCP server calc offers: add). Did you mean "add"?',
    );
    const clash = teamFile(`name: desk
pattern: agent
mcp:
  - { name: calc, url: "\${CALC_URL}" }
  - { name: copy, url: "\${CALC_URL}" }
agents:
  - { name: adder, instructions: Add. }
`);
    expect((await loadError(clash)).message).toContain(
      'mcp[1]: MCP server "copy" offers a tool named "add", and so does MCP server "calc"; set prefix: on one of them (e.g. prefix: copy_).',
    );
    const filter = teamFile(`name: desk
pattern: agent
mcp:
  - { name: calc, url: "\${CALC_URL}", include: [add, mul] }
agents:
  - { name: adder, instructions: Add. }
`);
    expect((await loadError(filter)).message).toMatch(
      /team\.yaml:4:\d+: mcp\[0\]\.include: .*no tool named "mul"; the server offers: add, reset/,
    );
  });

  it('reports a server it cannot reach at its entry', async () => {
    // A port nothing listens on: taken, then given back.
    const probe = createNetServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const file = teamFile(`name: desk
pattern: agent
mcp:
  - name: gone
    url: http://127.0.0.1:${port}/mcp
agents:
  - { name: adder, instructions: Add. }
`);
    expect((await loadError(file)).message).toMatch(
      /team\.yaml:4:5: mcp\[0\]: mcpTools\("gone"\): could not connect to the MCP server: .*ECONNREFUSED/,
    );
  });

  it('starts a stdio server when commands are allowed, by option or by BATON_ALLOW_MCP_COMMANDS', async () => {
    const script = `import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
const server = new McpServer({ name: 'echo', version: '1' });
server.registerTool('shout', { description: 'Shouts' }, async () => ({ content: [{ type: 'text', text: 'HEY' }] }));
await server.connect(new StdioServerTransport());
`;
    const file = teamFile(`name: desk
pattern: agent
mcp:
  - name: echo
    command: ${process.execPath}
    args: [--input-type=module, -e, "${script.replaceAll('\n', ' ').replaceAll('"', '\\"')}"]
    cwd: ${JSON.stringify(repo)}
agents:
  - { name: shouter, instructions: Shout., mcp: [echo] }
`);
    expect((await loadError(file)).message).toContain('refused to start MCP server "echo"');
    for (const options of [
      { allowMcpCommands: true },
      { env: { ...env(), BATON_ALLOW_MCP_COMMANDS: '1' } },
    ]) {
      const model = scriptedModel([{ toolCalls: [{ tool: 'shout', input: {} }] }, { text: 'done' }]);
      const team = await loadTeamFile(file, { model, env: env(), ...options });
      try {
        const pid = team.mcp.get('echo')?.pid;
        expect(pid).toBeGreaterThan(0);
        const runtime = createRuntime({ store: createMemoryStore(), recover: false });
        const handle = await runtime.start(team.runnable, 'Go');
        expect(await handle.result()).toBe('done');
        expect((await runtime.journal(handle.runId)).find((entry) => entry.kind === 'tool')?.result).toBe(
          'HEY',
        );
        await runtime.close();
      } finally {
        await team.close();
      }
    }
  }, 30_000);
});
