import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.test-d.ts')
      ? [path]
      : [];
  });
}

/** Relative imports of a file, resolved to source paths: all of them, or only those that exist at runtime. */
function importsOf(file: string, typesToo: boolean): string[] {
  const text = readFileSync(file, 'utf8');
  const imports: string[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[3] ?? match[4];
    if (specifier === undefined) continue;
    if (!typesToo) {
      if (match[2] !== undefined) continue;
      // `import { type A, type B }` lists only types: erased at runtime.
      const names = /\{([^}]*)\}/.exec(match[0])?.[1];
      if (names?.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '))) continue;
    }
    imports.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
  }
  return imports;
}

const files = sourceFiles(root);
const graph = new Map(files.map((file) => [file, importsOf(file, false)]));
/** Type imports count for layering: a layer that names another's types depends on it. */
const typeGraph = new Map(files.map((file) => [file, importsOf(file, true)]));
const layerOf = (file: string) => relative(root, file).split('/')[0] ?? '';

describe('architecture', () => {
  it('has no circular runtime imports', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push(
          [...path.slice(path.indexOf(file)), file].map((entry) => relative(root, entry)).join(' -> '),
        );
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('keeps dependencies pointing down the layers', () => {
    // What each layer may import at runtime (besides itself). Leaves (cli) may use everything.
    const allowed: Record<string, string[]> = {
      core: [],
      stores: ['core'],
      // Layers drawn side by side may use each other where no cycle forms: models -> tools, memory -> context.
      models: ['core', 'stores', 'tools'],
      tools: ['core'],
      agents: ['core', 'models', 'tools', 'stores', 'memory', 'governance', 'context'],
      context: ['core', 'models', 'stores'],
      governance: ['core', 'models', 'tools', 'stores', 'context'],
      memory: ['core', 'tools', 'stores', 'context'],
      patterns: ['core', 'agents', 'models', 'tools', 'governance', 'context'],
      testing: ['core', 'stores', 'models'],
      // protocols: a team file's mcp: servers, imported only when the file declares some.
      team: ['core', 'agents', 'models', 'tools', 'patterns', 'testing', 'stores', 'context', 'protocols'],
      protocols: ['core', 'models', 'tools', 'stores'],
      distributed: ['core', 'models', 'patterns'],
      observability: ['core'],
      evals: ['core', 'models', 'governance', 'patterns', 'observability'],
      // A leaf over the public API (the package entry) and the kernel's contracts; nothing imports it but cli.
      // It mounts the A2A handler of protocols/a2a, imported on the first A2A request (checked below),
      // and reads `?since=` durations as `baton stats` does (observability's parseDuration).
      // GET /v1/evals reads stored evals with evals/' evalHistory, imported on its first request.
      server: ['core', 'protocols', 'observability', 'evals'],
    };
    const violations: string[] = [];
    for (const [file, targets] of typeGraph) {
      const layer = layerOf(file);
      const permitted = allowed[layer];
      if (permitted === undefined) continue;
      for (const target of targets) {
        const targetLayer = layerOf(target);
        if (targetLayer !== layer && !targetLayer.endsWith('.ts') && !permitted.includes(targetLayer)) {
          violations.push(`${relative(root, file)} imports ${relative(root, target)}`);
        }
      }
    }
    // None known: the kernel names no type of the layers above (the model layer adds its tenant
    // state to the kernel's Tenant and RuntimeOptions by declaration merging) and adapters import
    // only core's contracts. Nothing may join.
    expect(violations).toEqual([]);
  });

  it('loads the MCP SDK only from protocols/mcp (an optional peer behind batonjs/mcp)', () => {
    const users = files.filter((file) => /from '@modelcontextprotocol\/sdk/.test(readFileSync(file, 'utf8')));
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('protocols/mcp/')),
    ).toEqual([]);
  });

  it('loads the A2A SDK only from protocols/a2a (an optional peer behind batonjs/a2a); server/ imports it only lazily', () => {
    const users = files.filter((file) => /from '@a2a-js\/sdk/.test(readFileSync(file, 'utf8')));
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('protocols/a2a/')),
    ).toEqual([]);
    // server/ names protocols/ in type imports and one dynamic import, so batonjs/server loads no SDK.
    const eager = files.filter(
      (file) =>
        layerOf(file) === 'server' &&
        /^import (?!type)[^;]*'\.\.\/protocols\//m.test(readFileSync(file, 'utf8')),
    );
    expect(eager.map((file) => relative(root, file))).toEqual([]);
  });

  it('loads hono only from server/ (behind batonjs/server), and only cli/ imports server/, lazily', () => {
    const users = files.filter((file) =>
      /from '(hono|@hono\/node-server)(\/[^']*)?'|import\('(hono|@hono\/node-server)/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(users.length).toBeGreaterThan(0);
    expect(users.map((file) => relative(root, file)).filter((file) => !file.startsWith('server/'))).toEqual(
      [],
    );
    // Outside server/, only cli/ names it, and only with a dynamic import (baton serve and baton keys load it on use).
    const importers = files.filter(
      // Relative imports only: the MCP SDK's own `@modelcontextprotocol/sdk/server/…` is not this layer.
      (file) =>
        layerOf(file) !== 'server' && /from '\.[^']*\/server\/[^']*'/.test(readFileSync(file, 'utf8')),
    );
    expect(importers.map((file) => relative(root, file))).toEqual([]);
    const lazy = files.filter((file) => /import\('[^']*\/server\/[^']*'\)/.test(readFileSync(file, 'utf8')));
    expect(lazy.map((file) => relative(root, file)).filter((file) => !file.startsWith('cli/'))).toEqual([]);
  });

  it('loads the Redis packages only from distributed/redis (optional peers behind batonjs/redis)', () => {
    const users = files.filter((file) =>
      /from '(ioredis|redis-semaphore|rate-limiter-flexible)'|import\('(ioredis|redis-semaphore|rate-limiter-flexible)'\)/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('distributed/redis/')),
    ).toEqual([]);
  });

  it('names OpenTelemetry only in observability/, and loads it there only on first traced use', () => {
    const users = files.filter((file) => /'@opentelemetry\/api'/.test(readFileSync(file, 'utf8')));
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('observability/')),
    ).toEqual([]);
    // Types only at the top (erased); the API is required when a provider is registered, and the
    // SDK (for the CLI's OTLP export) imported dynamically.
    for (const file of users) {
      expect(readFileSync(file, 'utf8')).not.toMatch(/^import (?!type)[^;]*'@opentelemetry\//m);
    }
  });

  it('loads pg only from the postgres store (an optional peer behind batonjs/postgres)', () => {
    const users = files.filter((file) => /from 'pg'|import\('pg'\)/.test(readFileSync(file, 'utf8')));
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('stores/postgres/')),
    ).toEqual([]);
  });

  it('loads better-sqlite3 only from the sqlite store', () => {
    const users = files.filter((file) => /from 'better-sqlite3'/.test(readFileSync(file, 'utf8')));
    expect(users.map((file) => relative(root, file)).every((file) => file.startsWith('stores/sqlite/'))).toBe(
      true,
    );
  });
});
