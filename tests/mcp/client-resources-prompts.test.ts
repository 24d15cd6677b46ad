/** mcpTools() reads a server's resources and prompts: lists, templates, reads, as context in a run's input, as the tools list_resources and read_resource, and prompts as messages and text. Against a server built with the SDK's McpServer. */

import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent, type BatonError, createRuntime } from '../../src/index.js';
import { type McpToolSet, mcpTools } from '../../src/protocols/mcp/index.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { serveMcp } from './mcp-test-server.js';

/** One pixel, as a PNG. */
const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/** A documentation server: two resources, a template of pages, a prompt, a tool; or tools only. */
function docsServer(toolsOnly: boolean): McpServer {
  const server = new McpServer({ name: 'docs', version: '1' });
  server.registerTool('ping', { description: 'Answers pong' }, async () => ({
    content: [{ type: 'text', text: 'pong' }],
  }));
  if (toolsOnly) return server;
  server.registerResource(
    'readme',
    'docs://readme',
    { mimeType: 'text/markdown', description: 'What Baton is' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/markdown', text: '# Baton\nDurable agents.' }],
    }),
  );
  server.registerResource('logo', 'docs://logo.png', { mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: pixel }],
  }));
  server.registerResource(
    'page',
    new ResourceTemplate('docs://pages/{page}', { list: undefined }),
    { description: 'A page of the manual by name' },
    async (uri, { page }) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: `The ${String(page)} page.` }],
    }),
  );
  server.registerPrompt(
    'review',
    {
      description: 'Review code against the readme',
      argsSchema: { code: z.string(), focus: z.string().optional() },
    },
    ({ code, focus }) => ({
      description: 'A code review',
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Review this code${focus ? ` for ${focus}` : ''}:\n${code}` },
        },
        { role: 'assistant', content: { type: 'text', text: 'I will check it against the readme.' } },
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: 'docs://readme', mimeType: 'text/markdown', text: '# Baton' },
          },
        },
        { role: 'user', content: { type: 'image', data: pixel, mimeType: 'image/png' } },
      ],
    }),
  );
  return server;
}

let docs: McpToolSet;
let toolsOnly: McpToolSet;
const servers: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  const full = await serveMcp(() => docsServer(false));
  const bare = await serveMcp(() => docsServer(true));
  servers.push(full, bare);
  docs = await mcpTools({ url: full.url }, { name: 'docs', prefix: 'docs_' });
  toolsOnly = await mcpTools({ url: bare.url }, { name: 'bare' });
});
afterAll(async () => {
  await docs?.close();
  await toolsOnly?.close();
  await Promise.all(servers.map((server) => server.close()));
});

describe('MCP resources', () => {
  it('lists resources and templates, and reads text, binary and templated resources', async () => {
    expect(await docs.listResources()).toEqual([
      { uri: 'docs://readme', name: 'readme', description: 'What Baton is', mimeType: 'text/markdown' },
      { uri: 'docs://logo.png', name: 'logo', mimeType: 'image/png' },
    ]);
    expect(await docs.listResourceTemplates()).toEqual([
      { uriTemplate: 'docs://pages/{page}', name: 'page', description: 'A page of the manual by name' },
    ]);
    expect(await docs.readResource('docs://readme')).toEqual([
      { uri: 'docs://readme', mimeType: 'text/markdown', text: '# Baton\nDurable agents.' },
    ]);
    expect(await docs.readResource('docs://logo.png')).toEqual([
      { uri: 'docs://logo.png', mimeType: 'image/png', blob: pixel },
    ]);
    expect((await docs.readResource('docs://pages/install'))[0]?.text).toBe('The install page.');
  });

  it('gives a resource as a user message, context for a run whose input is then durable', async () => {
    const readme = await docs.resourceMessage('docs://readme');
    expect(readme).toEqual({
      role: 'user',
      content: [{ type: 'text', text: 'Resource docs://readme:\n# Baton\nDurable agents.' }],
    });
    expect((await docs.resourceMessage('docs://logo.png')).content).toEqual([
      { type: 'file', data: pixel, mediaType: 'image/png' },
    ]);
    const model = scriptedModel([{ text: 'It is about durable agents.' }]);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const reader = agent({ name: 'reader', instructions: 'Answer from the context.', model });
    const handle = await runtime.start(reader, {
      messages: [readme, { role: 'user', content: [{ type: 'text', text: 'What is it about?' }] }],
    });
    expect(await handle.result()).toBe('It is about durable agents.');
    expect(JSON.stringify(model.calls[0]?.prompt)).toContain('Durable agents.');
    expect(JSON.stringify((await runtime.get(handle.runId)).input)).toContain('Durable agents.');
    await runtime.close();
  });

  it('gives an agent list_resources and read_resource tools (with the source prefix), each call a journaled step', async () => {
    const [list, read] = docs.resourceTools({ maxChars: 12 });
    expect([list?.name, read?.name]).toEqual(['docs_list_resources', 'docs_read_resource']);
    expect(read?.capabilities).toEqual(['read']);
    expect(read?.idempotent).toBe(true);
    const model = scriptedModel(({ turn, prompt }) => {
      if (turn === 0) return { toolCalls: [{ tool: 'docs_list_resources', input: {} }] };
      if (turn === 1) return { toolCalls: [{ tool: 'docs_read_resource', input: { uri: 'docs://readme' } }] };
      const last = prompt.at(-1);
      const part = last?.role === 'tool' ? last.content[0] : undefined;
      return { text: `read ${JSON.stringify(part?.type === 'tool-result' ? part.output : undefined)}` };
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const researcher = agent({
      name: 'researcher',
      instructions: 'Read the docs.',
      model,
      tools: docs.resourceTools({ maxChars: 12 }),
    });
    const handle = await runtime.start(researcher, 'What is Baton?');
    expect(await handle.result()).toBe(
      `read ${JSON.stringify({ type: 'text', value: '# Baton\nDura\n[… 11 more characters not shown]' })}`,
    );
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'model:researcher',
      'tool:docs_list_resources',
      'model:researcher',
      'tool:docs_read_resource',
      'model:researcher',
    ]);
    expect(journal[1]?.result).toMatchObject({
      resources: [{ uri: 'docs://readme' }, { uri: 'docs://logo.png' }],
      templates: [{ uriTemplate: 'docs://pages/{page}' }],
    });
    await runtime.close();
  });

  it('fails a read the server refuses, and any read of a server without resources, with MCP_CALL_FAILED', async () => {
    const missing = await docs.readResource('docs://nothing').catch((error: BatonError) => error);
    expect(missing).toMatchObject({ code: 'MCP_CALL_FAILED' });
    expect((missing as Error).message).toMatch(
      /MCP request resources\/read of docs:\/\/nothing on "docs" failed: .*docs:\/\/nothing/,
    );
    expect(await toolsOnly.listResources()).toEqual([]);
    expect(await toolsOnly.listResourceTemplates()).toEqual([]);
    await expect(toolsOnly.readResource('docs://readme')).rejects.toMatchObject({
      code: 'MCP_CALL_FAILED',
      message:
        'MCP server "bare" offers no resources (it declares tools), so reading docs://readme cannot run.',
    });
  });
});

describe('MCP prompts', () => {
  it('lists prompts with their arguments', async () => {
    expect(await docs.listPrompts()).toEqual([
      {
        name: 'review',
        description: 'Review code against the readme',
        arguments: [
          { name: 'code', required: true },
          { name: 'focus', required: false },
        ],
      },
    ]);
    expect(await toolsOnly.listPrompts()).toEqual([]);
  });

  it('gets a prompt as Baton messages (a run input) and as text (instructions)', async () => {
    const prompt = await docs.getPrompt('review', { code: 'let x = 1', focus: 'naming' });
    expect(prompt.description).toBe('A code review');
    expect(prompt.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Review this code for naming:\nlet x = 1' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'I will check it against the readme.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Resource docs://readme:\n# Baton' }] },
      { role: 'user', content: [{ type: 'file', data: pixel, mediaType: 'image/png' }] },
    ]);
    expect(prompt.text).toBe(
      'Review this code for naming:\nlet x = 1\n\nI will check it against the readme.\n\nResource docs://readme:\n# Baton',
    );
    const model = scriptedModel([{ text: 'Rename x.' }]);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const reviewer = agent({ name: 'reviewer', instructions: prompt.text, model });
    const handle = await runtime.start(reviewer, { messages: prompt.messages });
    expect(await handle.result()).toBe('Rename x.');
    const sent = model.calls[0]?.prompt ?? [];
    expect(sent[0]).toMatchObject({
      role: 'system',
      content: expect.stringContaining('Review this code for naming'),
    });
    expect(sent.slice(1).map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'user']);
    await runtime.close();
  });

  it('fails a prompt the server does not have, or a non-text argument, saying which', async () => {
    await expect(docs.getPrompt('reveiw')).rejects.toMatchObject({
      code: 'MCP_CALL_FAILED',
      message: expect.stringMatching(/MCP request prompts\/get of reveiw on "docs" failed: .*reveiw/),
    });
    await expect(docs.getPrompt('review', { code: 3 as unknown as string })).rejects.toThrow(
      'getPrompt("review") of MCP server "docs": argument "code" must be a string (MCP prompt arguments are text).',
    );
    await expect(toolsOnly.getPrompt('review')).rejects.toThrow('the server offers no prompts');
  });
});
