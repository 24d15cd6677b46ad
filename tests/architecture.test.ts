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

/** Runtime (non-type) relative imports of a file, resolved to source paths. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const imports: string[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;
  for (const match of text.matchAll(pattern)) {
    if (match[2] !== undefined) continue;
    const specifier = match[3] ?? match[4];
    if (specifier === undefined) continue;
    // `import { type A, type B }` lists only types: erased at runtime.
    const clause = match[0];
    const names = /\{([^}]*)\}/.exec(clause)?.[1];
    if (names?.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '))) continue;
    imports.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
  }
  return imports;
}

const files = sourceFiles(root);
const graph = new Map(files.map((file) => [file, runtimeImports(file)]));
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
      core: ['stores'],
      stores: ['core'],
      models: ['core', 'stores'],
      tools: ['core'],
      agents: ['core', 'models', 'tools', 'stores', 'memory', 'governance', 'context'],
      context: ['core', 'models', 'stores'],
      governance: ['core', 'models', 'tools', 'stores', 'context'],
      memory: ['core', 'tools', 'stores'],
      patterns: ['core', 'agents', 'models', 'tools', 'governance'],
      testing: ['core', 'stores', 'models'],
      team: ['core', 'agents', 'models', 'tools', 'patterns', 'testing', 'stores'],
      protocols: ['core', 'models', 'tools', 'stores'],
    };
    const violations: string[] = [];
    for (const [file, targets] of graph) {
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
    expect(violations).toEqual([]);
  });

  it('loads the MCP SDK only from protocols/mcp (an optional peer behind batonjs/mcp)', () => {
    const users = files.filter((file) => /from '@modelcontextprotocol\/sdk/.test(readFileSync(file, 'utf8')));
    expect(users.length).toBeGreaterThan(0);
    expect(
      users.map((file) => relative(root, file)).filter((file) => !file.startsWith('protocols/mcp/')),
    ).toEqual([]);
  });

  it('loads better-sqlite3 only from the sqlite store', () => {
    const users = files.filter((file) => /from 'better-sqlite3'/.test(readFileSync(file, 'utf8')));
    expect(users.map((file) => relative(root, file)).every((file) => file.startsWith('stores/sqlite/'))).toBe(
      true,
    );
  });
});
