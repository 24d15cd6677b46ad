/** The dashboard's files served by the API's own process: `GET /` (the page) and `GET /assets/*` (content-hashed, cached for good), with content types, cache and security headers; nothing from a CDN. */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { HttpError } from './http-error.js';
import type { Env } from './route.js';

/** Options of the dashboard (`createServer({ dashboard })`). */
export interface DashboardOptions {
  /**
   * The built dashboard (a folder with `index.html` and `assets/`); default the one in the
   * package (`dist/dashboard`, written by `npm run build`).
   */
  root?: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The page may load only its own scripts and styles and call only its own server: a key in
 * local storage is safe from injected scripts only as long as none can run.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the built dashboard is: beside the compiled server in the package, or in dist/ when running from source. */
function defaultRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../dashboard'), resolve(here, '../../dist/dashboard')];
  return (
    candidates.find((candidate) => existsSync(join(candidate, 'index.html'))) ?? (candidates[0] as string)
  );
}

/**
 * A Hono app serving the built dashboard at `/` (mounted beside the API by `createServer({
 * dashboard: true })`). Files are read once, when it is created. Assets have content hashes in
 * their names, so they are `immutable` for a year; the page itself is `no-cache` (revalidated,
 * so a new build shows at once). When the dashboard was not built, `GET /` says how to build it
 * (503) and the API works as before.
 *
 * @example
 * ```ts
 * app.route('/', dashboardApp({}));
 * ```
 */
export function dashboardApp(options: DashboardOptions = {}): Hono<Env> {
  const root = options.root ?? defaultRoot();
  const app = new Hono<Env>();
  let page: Buffer | undefined;
  const assets = new Map<string, Buffer>();
  try {
    page = readFileSync(join(root, 'index.html'));
    for (const name of readdirSync(join(root, 'assets')))
      assets.set(name, readFileSync(join(root, 'assets', name)));
  } catch {
    page = undefined;
  }

  app.get('/', (c) => {
    if (page === undefined) {
      return c.text(
        `The dashboard is not built (no ${join(root, 'index.html')}): run npm run build (or npm run build:ui) in the batonjs package. The API is under /v1.\n`,
        503,
        { 'cache-control': 'no-store' },
      );
    }
    return c.body(new Uint8Array(page), 200, {
      'content-type': contentTypes['.html'] as string,
      'cache-control': 'no-cache',
      'content-security-policy': contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
  });

  app.get('/assets/:file', (c) => {
    const name = c.req.param('file');
    const file = assets.get(name);
    if (file === undefined) {
      const missing = new HttpError(
        404,
        'NOT_FOUND',
        `No dashboard asset ${name}; reload the page for the current ones.`,
      );
      return c.json(missing.body(), 404, { 'cache-control': 'no-store' });
    }
    return c.body(new Uint8Array(file), 200, {
      'content-type': contentTypes[extname(name)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
  });
  return app;
}
