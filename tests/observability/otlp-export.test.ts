import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpTracesUrl } from '../../src/observability/otlp.js';
import { assertCliBuilt, offlineEnv, repo } from '../baton-cli.js';

/** One span as OTLP/JSON carries it (the fields this test reads). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: OtlpSpan['attributes'] };
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

/** A local OTLP/HTTP receiver: keeps every decoded JSON export request sent to /v1/traces. */
function startReceiver(): Promise<{ server: Server; url: string; requests: OtlpRequest[]; paths: string[] }> {
  const requests: OtlpRequest[] = [];
  const paths: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      paths.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
      requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolve({ server, url: `http://127.0.0.1:${address.port}`, requests, paths });
    });
  });
}

/** Runs the built CLI without blocking this process (the receiver answers meanwhile). */
function baton(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, 'dist', 'cli', 'main.js'), ...args], {
      cwd: repo,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const value = (span: OtlpSpan, key: string): unknown => {
  const found = span.attributes.find((attribute) => attribute.key === key)?.value;
  if (found === undefined) return undefined;
  return found.stringValue ?? found.intValue ?? found.doubleValue ?? found.boolValue ?? found.arrayValue;
};

describe('BATON_OTLP_ENDPOINT', () => {
  let folder: string;
  beforeAll(() => {
    assertCliBuilt();
    folder = mkdtempSync(join(tmpdir(), 'baton-otlp-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('exports the customer-support demo as one trace over OTLP/HTTP, decoded by a local receiver', async () => {
    const receiver = await startReceiver();
    try {
      const result = await baton(
        [
          'run',
          'examples/customer-support/team.yaml',
          'I was charged twice for my order A-1001, please refund the duplicate.',
          '--store',
          join(folder, 'baton.db'),
        ],
        offlineEnv({ BATON_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'support-demo' }),
      );
      expect(result.stderr).not.toContain('could not export');
      expect(result.code).toBe(0);
      expect(receiver.paths.every((path) => path === 'POST /v1/traces application/json')).toBe(true);
      const spans = receiver.requests.flatMap((request) =>
        request.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
      );
      const resource = receiver.requests[0]?.resourceSpans[0]?.resource.attributes ?? [];
      expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'support-demo' } });
      expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
      // The tree as the receiver decoded it: names under their parents.
      const children = (parent: string | undefined) =>
        spans.filter((span) => (span.parentSpanId || undefined) === parent);
      const render = (span: OtlpSpan, depth: number): string[] => [
        `${'  '.repeat(depth)}${span.name}`,
        ...children(span.spanId).flatMap((child) => render(child, depth + 1)),
      ];
      const roots = children(undefined);
      expect(roots.map((span) => span.name)).toEqual(['invoke_workflow customer-support']);
      const tree = render(roots[0] as OtlpSpan, 0);
      process.stdout.write(`span tree of the customer-support demo, as received:\n${tree.join('\n')}\n`);
      expect(tree).toEqual([
        'invoke_workflow customer-support',
        '  invoke_workflow customer-support',
        '    invoke_agent triage',
        '      chat scripted',
        '      execute_tool lookup_order',
        '      chat scripted',
        '    invoke_agent billing',
        '      chat scripted',
        '      execute_tool refund_order',
        '      chat scripted',
      ]);
      const chat = spans.find((span) => span.name.startsWith('chat '));
      expect(chat?.kind).toBe(3); // SPAN_KIND_CLIENT in OTLP's numbering
      expect(value(chat as OtlpSpan, 'gen_ai.operation.name')).toBe('chat');
      expect(Number(value(chat as OtlpSpan, 'gen_ai.usage.input_tokens'))).toBeGreaterThan(0);
    } finally {
      receiver.server.close();
    }
  });

  it('refuses a bad endpoint with exit 2 and a message that names it', async () => {
    expect(otlpTracesUrl('http://localhost:4318')).toBe('http://localhost:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example/v1/traces/')).toBe('https://otel.example/v1/traces');
    expect(() => otlpTracesUrl('localhost:4318')).toThrow('must be an http:// or https:// URL');
    expect(() => otlpTracesUrl('not a url')).toThrow('is not a URL');
    const bad = await baton(
      ['runs', '--store', join(folder, 'other.db')],
      offlineEnv({ BATON_OTLP_ENDPOINT: 'udp://x' }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('BATON_OTLP_ENDPOINT "udp://x" must be an http:// or https:// URL');
  });
});
