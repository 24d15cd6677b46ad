/** What importing the package root loads: Baton's own modules, not the heavy dependencies it uses only when asked. */

import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** The packages a fresh process loads while importing `file`, by name. */
function packagesLoadedBy(file: string): string[] {
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
  const names = new Set<string>();
  for (const line of child.stderr.split('\n')) {
    const match = /^loaded .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return [...names].sort();
}

describe('the root import', () => {
  it('loads no dependency but the provider types: zod, the AI SDK, tokenizers, YAML, MCP and prices load on first use', () => {
    // The built entry (npm test builds first), as a user's import resolves it.
    expect(packagesLoadedBy(join(repository, 'dist/index.js'))).toEqual(['@ai-sdk/provider']);
  });

  it('shares one zod with the user: the lazily loaded module is the one `import` gives', async () => {
    const imported = await import('zod');
    expect(loadZod().z).toBe(imported.z);
    expect(loadZod().ZodType).toBe(imported.ZodType);
  });
});
