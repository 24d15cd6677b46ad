/** Builds the dashboard (src/dashboard) with esbuild into dist/dashboard: index.html and content-hashed assets; `npm run build:ui`. */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const source = resolve(import.meta.dirname, '../src/dashboard');

/** What {@link buildDashboard} wrote. */
export interface DashboardBuild {
  /** The folder served (index.html and assets/). */
  outdir: string;
  /** Asset file names under assets/, with their sizes in bytes. */
  assets: Record<string, number>;
  /** How long the build took, in ms. */
  ms: number;
}

/**
 * Bundles the dashboard (Preact and the page's code into one ES module, the styles into one
 * CSS file), minified, with content hashes in the asset names so they can be cached for good;
 * writes `index.html` (never cached) pointing at them. Empties `outdir` first.
 *
 * @example
 * ```ts
 * const { outdir } = await buildDashboard({ outdir: 'dist/dashboard' });
 * ```
 */
export async function buildDashboard(options: { outdir: string }): Promise<DashboardBuild> {
  const started = performance.now();
  const outdir = resolve(options.outdir);
  const assetsDir = join(outdir, 'assets');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'main.tsx'), join(source, 'styles.css')],
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: resolve(source, '../..'),
  });
  const assets: Record<string, number> = {};
  let js: string | undefined;
  let css: string | undefined;
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    const name = basename(path);
    assets[name] = output.bytes;
    if (name.endsWith('.js')) js = name;
    else if (name.endsWith('.css')) css = name;
  }
  if (js === undefined || css === undefined)
    throw new Error('The dashboard build wrote no script or no styles.');
  const page = readFileSync(join(source, 'page.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css);
  writeFileSync(join(outdir, 'index.html'), page);
  return { outdir, assets, ms: Math.round(performance.now() - started) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const built = await buildDashboard({ outdir: resolve(import.meta.dirname, '../dist/dashboard') });
  const sizes = Object.entries(built.assets)
    .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)} KiB`)
    .join(', ');
  process.stdout.write(`Dashboard built in ${built.ms} ms: ${sizes}\n`);
}
