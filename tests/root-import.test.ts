/** What importing the package root loads: Baton's own modules, not the heavy dependencies it uses only when asked. */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadZod } from '../src/core/load-zod.js';

const repository = resolve(import.meta.dirname, '..');

/** Module hooks (in their own thread) that print every module URL node loads, one per line. */
const hooks = `export async function load(url, context, next) {
  process._rawDebug('loaded ' + url);
  return next(url, context);
}`;
const registerHooks = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;

/**
 * What a fresh process loads while importing `file`: packages by name, Node's built-in modules
 * (`node:...`), the files of Baton's
 * build it reads (paths under dist/), and Baton's own modules by their path under src/ without
 * `.ts`, as the source maps of those files name them (the build bundles modules into chunks).
 */
function loadedBy(file: string): {
  packages: string[];
  builtins: string[];
  files: string[];
  modules: string[];
} {
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(registerHooks)}`,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    ],
    { cwd: repository, encoding: 'utf8', timeout: 60_000 },
  );
  expect(child.status, child.stderr).toBe(0);
  const packages = new Set<string>();
  const builtins = new Set<string>();
  const files = new Set<string>();
  const modules = new Set<string>();
  for (const line of child.stderr.split('\n')) {
    const match = /^loaded .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (match?.[1] !== undefined) packages.add(match[1]);
    const builtin = /^loaded (node:.+)$/.exec(line)?.[1];
    if (builtin !== undefined) builtins.add(builtin);
    const own = /^loaded (file:\/\/.*?\/dist\/(.+\.js))$/.exec(line);
    if (own?.[1] === undefined || own[2] === undefined || line.includes('/node_modules/')) continue;
    files.add(own[2]);
    const built = fileURLToPath(own[1]);
    const map = JSON.parse(readFileSync(`${built}.map`, 'utf8')) as { sources: string[] };
    for (const source of map.sources) {
      modules.add(relative(join(repository, 'src'), resolve(dirname(built), source)).replace(/\.ts$/, ''));
    }
  }
  return {
    packages: [...packages].sort(),
    builtins: [...builtins].sort(),
    files: [...files].sort(),
    modules: [...modules].sort(),
  };
}

/** The package's runtime dependencies (package.json): every one of them loads on first use only. */
const dependencies = Object.keys(
  (
    JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    }
  ).dependencies,
).sort();

/**
 * Baton's own modules the root import does not load: the agent loop (agents/agent-loop.ts loads
 * it with the first run), a fan-in's voting and consistency scoring, tool routing's embeddings,
 * `runtime.replay()`'s re-execution.
 */
const lazyModules = [
  'agents/model-step',
  'agents/prepare-context',
  'agents/response-format',
  'agents/run-agent',
  'agents/tool-steps',
  'core/run-replay',
  'models/resilience/escalation',
  'models/resilience/tool-call',
  'patterns/consistency',
  'tools/tool-embeddings',
];

describe('the root import', () => {
  // The built entry (npm test builds first), as a user's import resolves it.
  const root = loadedBy(join(repository, 'dist/index.js'));

  it('loads none of the dependencies: zod, the AI SDK, tokenizers, YAML, prices, cockatiel and SQLite load on first use', () => {
    expect(dependencies).toEqual(
      expect.arrayContaining(['ai', 'zod', 'gpt-tokenizer', 'yaml', '@pydantic/genai-prices', 'cockatiel']),
    );
    expect(root.packages.filter((name) => dependencies.includes(name))).toEqual([]);
    // Nor anything else from node_modules (peer dependencies such as MCP's SDK, or what the AI SDK uses).
    expect(root.packages).toEqual([]);
  });

  it('loads node:crypto (Node compiles a dozen internal modules for it) only when a runtime is created or something is hashed', () => {
    expect(root.builtins).not.toContain('node:crypto');
  });

  it('loads the agent loop with the first agent run, and other parts used only while running, not with the package', () => {
    expect(root.modules).toContain('agents/agent-loop');
    expect(root.modules).toContain('agents/agent');
    expect(root.modules.filter((module) => lazyModules.includes(module))).toEqual([]);
  });

  it('reads its code from a few bundled files (shared chunks), not one file per module', () => {
    expect(root.modules.length).toBeGreaterThan(50);
    expect(root.files).toContain('index.js');
    expect(root.files.length).toBeLessThan(root.modules.length / 3);
  });

  it('keeps the name of every exported function (the bundle renames a clashing one otherwise: createRuntime2)', async () => {
    const exported = (await import(pathToFileURL(join(repository, 'dist/index.js')).href)) as Record<
      string,
      unknown
    >;
    const renamed = Object.entries(exported)
      .filter(([name, value]) => typeof value === 'function' && /^[a-z]/.test(name) && value.name !== name)
      .map(([name, value]) => `${name} is named ${(value as { name: string }).name}`);
    expect(renamed).toEqual([]);
  });

  it('shares one zod with the user: the lazily loaded module is the one `import` gives', async () => {
    const imported = await import('zod');
    expect(loadZod().z).toBe(imported.z);
    expect(loadZod().ZodType).toBe(imported.ZodType);
  });
});
