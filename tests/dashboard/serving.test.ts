/** How the server serves the dashboard: the page and its assets with content types, cache and security headers, no key needed for them, nothing from another origin; off unless asked for; a clear 503 when it was not built. */

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '../../src/index.js';
import { createServer } from '../../src/server/index.js';
import { listen } from '../../src/server/listen.js';
import { buildOnce, type Served, serveDashboard } from './dashboard-fixtures.js';
import { greet } from './flows.js';

let build: Awaited<ReturnType<typeof buildOnce>>;
let served: Served;

beforeAll(async () => {
  build = await buildOnce();
  served = await serveDashboard(build.outdir, [greet]);
});

afterAll(async () => {
  await served?.stop();
  build?.remove();
});

describe('serving the dashboard', () => {
  it('serves the page without a key, never cached, locked to its own origin', async () => {
    const response = await fetch(`${served.server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    // Every asset is the server's own: nothing from a CDN, so the page works offline.
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const reference of references) expect(reference).toMatch(/^(\.\/assets\/|data:)/);
    // The API still needs its key.
    expect((await fetch(`${served.server.url}/v1/runs`)).status).toBe(401);
  });

  it('serves content-hashed assets for good, with their content types', async () => {
    const names = Object.keys(build.assets);
    expect(names.some((name) => /^main-[A-Z0-9]+\.js$/.test(name))).toBe(true);
    expect(names.some((name) => /^styles-[A-Z0-9]+\.css$/.test(name))).toBe(true);
    for (const name of names) {
      const response = await fetch(`${served.server.url}/assets/${name}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(
        name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      );
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(
        Buffer.from(await response.arrayBuffer()).equals(readFileSync(join(build.outdir, 'assets', name))),
      ).toBe(true);
    }
    const missing = await fetch(`${served.server.url}/assets/main-OLD.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    // Small: the page, Preact and its signals in one module.
    const total = Object.values(build.assets).reduce((sum, bytes) => sum + bytes, 0);
    expect(total).toBeLessThan(120 * 1024);
  });

  it('is off unless asked for: the API alone answers 404 at /', async () => {
    const runtime = createRuntime({ store: createMemoryStore() });
    const server = await listen(createServer({ runtime, targets: [greet] }), { port: 0 });
    try {
      const response = await fetch(`${server.url}/`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    } finally {
      await server.close();
      await runtime.close();
    }
  });

  it('says how to build it when it was not built', async () => {
    const runtime = createRuntime({ store: createMemoryStore() });
    const app = createServer({
      runtime,
      targets: [greet],
      dashboard: { root: join(build.outdir, 'nowhere') },
    });
    const server = await listen(app, { port: 0 });
    try {
      const response = await fetch(`${server.url}/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('npm run build');
      expect((await fetch(`${server.url}/openapi.json`)).status).toBe(200);
    } finally {
      await server.close();
      await runtime.close();
    }
  });

  it('is a leaf: the page imports only its own files, preact and its signals (never the package)', () => {
    const folder = resolve(import.meta.dirname, '../../src/dashboard');
    const outside: string[] = [];
    for (const name of readdirSync(folder).filter((file) => /\.tsx?$/.test(file))) {
      const text = readFileSync(join(folder, name), 'utf8');
      for (const match of text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
        const specifier = match[1] as string;
        if (!/^\.\/[\w-]+\.js$/.test(specifier) && !/^(preact|@preact\/signals)(\/|$)/.test(specifier))
          outside.push(`${name}: ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
