import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadTypeScriptLoader, type TypeScriptLoader } from './import-module.js';

const nowhere = mkdtempSync(join(tmpdir(), 'baton-no-tsx-'));
afterAll(() => rmSync(nowhere, { recursive: true, force: true }));

describe('loadTypeScriptLoader', () => {
  it('turns a tsx that cannot be resolved into an error naming the file and the install command', async () => {
    // A real resolution failure: tsx looked up from a folder with no node_modules.
    const load = async () => createRequire(join(nowhere, 'index.js'))('tsx/esm/api') as TypeScriptLoader;
    const error = await loadTypeScriptLoader('/app/tools.ts', load).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      '/app/tools.ts is a TypeScript module, and loading TypeScript needs tsx, an optional peer dependency of batonjs that is not installed. Install it in your project (npm install -D tsx), or use a JavaScript module (.js, .mjs).',
    );
    expect((error as ConfigError).cause).toMatchObject({ code: 'MODULE_NOT_FOUND' });
  });

  it('rethrows any other failure of tsx as it is', async () => {
    const broken = new SyntaxError('Unexpected token in tsx/dist/esm/api/index.mjs');
    await expect(loadTypeScriptLoader('/app/tools.ts', () => Promise.reject(broken))).rejects.toBe(broken);
    const otherPackage = async () =>
      createRequire(join(nowhere, 'index.js'))('esbuild-x') as TypeScriptLoader;
    await expect(loadTypeScriptLoader('/app/tools.ts', otherPackage)).rejects.toThrow(
      /Cannot find module 'esbuild-x'/,
    );
  });

  it('loads the installed tsx by default', async () => {
    const loader = await loadTypeScriptLoader('/app/tools.ts');
    expect(typeof loader.tsImport).toBe('function');
  });
});
