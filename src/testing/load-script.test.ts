import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonError } from '../core/errors.js';
import { loadScript } from './load-script.js';
import { scriptedModel } from './scripted-model.js';

let directory = '';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'baton-load-script-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function fileWith(name: string, content: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, content);
  return path;
}

async function loadError(path: string): Promise<BatonError> {
  try {
    await loadScript(path);
  } catch (error) {
    if (BatonError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected loadScript to fail');
}

describe('loadScript', () => {
  it('loads a YAML script keyed by agent that a scripted model can play', async () => {
    const path = await fileWith(
      'support.yaml',
      [
        'triage:',
        '  - toolCalls:',
        '      - tool: transfer_to_billing',
        'billing:',
        '  - toolCalls:',
        '      - { tool: refund, input: { orderId: A-1001, amount: 42 }, id: call_refund }',
        '    usage: { inputTokens: 100, outputTokens: 12 }',
        '    delayMs: 5',
        '  - text: The duplicate charge has been refunded.',
        '  - error: provider overloaded',
      ].join('\n'),
    );
    const script = await loadScript(path);
    expect(script).toEqual({
      triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [
        {
          toolCalls: [{ tool: 'refund', input: { orderId: 'A-1001', amount: 42 }, id: 'call_refund' }],
          usage: { inputTokens: 100, outputTokens: 12 },
          delayMs: 5,
        },
        { text: 'The duplicate charge has been refunded.' },
        { error: 'provider overloaded' },
      ],
    });
    const model = scriptedModel(script);
    const result = await model.doGenerate({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'refund please' }] }],
      providerOptions: { baton: { agent: 'billing' } },
    });
    expect(result.content).toEqual([
      {
        type: 'tool-call',
        toolCallId: 'call_refund',
        toolName: 'refund',
        input: '{"orderId":"A-1001","amount":42}',
      },
    ]);
  });

  it('loads JSON, and accepts a file URL', async () => {
    const path = await fileWith('script.json', JSON.stringify({ writer: [{ text: 'Hello' }] }));
    expect(await loadScript(path)).toEqual({ writer: [{ text: 'Hello' }] });
    expect(await loadScript(pathToFileURL(path))).toEqual({ writer: [{ text: 'Hello' }] });
  });

  it('names the file, line and field of a wrongly typed value', async () => {
    const path = await fileWith(
      'bad-type.yaml',
      ['billing:', '  - text: fine', '  - toolCalls:', '      - tool: 42', '        input: {}'].join('\n'),
    );
    const error = await loadError(path);
    expect(error.code).toBe('INVALID_SCRIPT');
    expect(error.fault).toBe('user');
    expect(error.message).toContain(`${path}:4:`);
    expect(error.message).toContain('billing[1].toolCalls[0].tool');
    expect(error.message).toMatch(/expected string/);
  });

  it('rejects unknown fields, naming them and the allowed ones', async () => {
    const path = await fileWith(
      'typo.yaml',
      ['triage:', '  - text: hi', '  - toolcalls:', '      - tool: lookup', '        input: {}'].join('\n'),
    );
    const error = await loadError(path);
    expect(error.message).toContain(`${path}:3:5: triage[1].toolcalls: unknown field "toolcalls"`);
    expect(error.message).toContain('a turn has: text, toolCalls, usage, delayMs, error');
  });

  it('points at the parent when a required field is missing', async () => {
    const path = await fileWith(
      'missing.yaml',
      ['triage:', '  - toolCalls:', '      - input: {}'].join('\n'),
    );
    const error = await loadError(path);
    expect(error.message).toContain(`${path}:3:`);
    expect(error.message).toContain('triage[0].toolCalls[0].tool');
  });

  it('rejects a top level that is not a mapping of agent to turns, and an empty file', async () => {
    const list = await fileWith('list.yaml', '- text: hi\n');
    expect((await loadError(list)).message).toContain(`${list}:1:1: (top level)`);
    const notList = await fileWith('not-list.yaml', 'triage: hello\n');
    expect((await loadError(notList)).message).toContain('triage: Invalid input: expected array');
    const empty = await fileWith('empty.yaml', '');
    expect((await loadError(empty)).message).toContain('the file is empty');
  });

  it('reports YAML syntax errors with the line', async () => {
    const path = await fileWith('syntax.yaml', ['triage:', '  - text: hi', '    text: twice'].join('\n'));
    const error = await loadError(path);
    expect(error.code).toBe('INVALID_SCRIPT');
    expect(error.message).toContain(`${path}:3:5: not valid YAML or JSON: Map keys must be unique`);
  });

  it('reports a missing file', async () => {
    const error = await loadError(join(directory, 'nope.yaml'));
    expect(error.code).toBe('SCRIPT_NOT_FOUND');
    expect(error.message).toContain('nope.yaml');
  });
});
