/** Bundles the package's JavaScript (every entry of package.json "exports" and the CLI) with esbuild into dist/; `npm run build:js`. */

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repository = resolve(import.meta.dirname, '..');

/** What {@link buildPackage} wrote. */
export interface PackageBuild {
  /** Entry files written, relative to `outdir` (`index.js`, `stores/sqlite/index.js`, ...). */
  entries: string[];
  /** Shared chunks written under `outdir/chunks`, with their sizes in bytes. */
  chunks: Record<string, number>;
  /** How long the build took, in ms. */
  ms: number;
}

/**
 * The entries of the package, as paths under dist/ without `.js`: every `import` target of
 * package.json "exports" and every `bin`, so a new subpath is bundled as soon as it is declared.
 */
export function packageEntries(): string[] {
  const manifest = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import?: string }>;
    bin?: Record<string, string>;
  };
  const targets = [
    ...Object.values(manifest.exports).map((target) => (typeof target === 'string' ? target : target.import)),
    ...Object.values(manifest.bin ?? {}),
  ];
  const entries = new Set<string>();
  for (const target of targets) {
    const match = target === undefined ? null : /^\.\/dist\/(.+)\.js$/.exec(target);
    if (match?.[1] !== undefined) entries.add(match[1]);
  }
  return [...entries].sort();
}

/** Deletes the JavaScript and source maps of an earlier build (tsc's or this one's); keeps declarations and the dashboard. */
function removeOldJavaScript(directory: string, outdir: string): void {
  if (!existsSync(directory)) return;
  for (const item of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, item.name);
    if (item.isDirectory()) {
      if (path !== join(outdir, 'dashboard')) removeOldJavaScript(path, outdir);
    } else if (item.name.endsWith('.js') || item.name.endsWith('.js.map')) {
      rmSync(path);
    }
  }
}

/**
 * Bundles every entry of the package from `src/` in one esbuild build with code splitting, so a
 * module shared by two entries (the kernel, the errors) exists once, in a chunk under
 * `outdir/chunks`, and `batonjs` and `batonjs/sqlite` see the same classes. The root import then
 * reads a handful of files instead of about 120 modules. Dynamic `import()`s stay lazy (each is its
 * own chunk); dependencies stay external and load from node_modules as before. Source maps point
 * at `src/`; the declarations (`.d.ts`) are tsc's (`tsconfig.build.json`). Chunks sit one folder
 * below `outdir`, as `cli/` and `server/` do, so paths found from `import.meta.url` (the package
 * file, the built dashboard) resolve the same from either.
 *
 * @example
 * ```ts
 * const { entries } = await buildPackage({ outdir: 'dist' });
 * ```
 */
export async function buildPackage(options: { outdir: string }): Promise<PackageBuild> {
  const started = performance.now();
  const outdir = resolve(options.outdir);
  removeOldJavaScript(outdir, outdir);
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
  const entries = packageEntries();
  const entryPoints = entries.map((entry) => {
    const source = join(repository, 'src', `${entry}.ts`);
    if (!existsSync(source))
      throw new Error(`package.json names dist/${entry}.js but src/${entry}.ts does not exist.`);
    return { in: source, out: entry };
  });
  const result = await build({
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    sourcesContent: false,
    chunkNames: 'chunks/[name]-[hash]',
    tsconfig: join(repository, 'tsconfig.build.json'),
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: repository,
  });
  const chunks: Record<string, number> = {};
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    const name = relative(outdir, resolve(repository, path));
    if (name.startsWith('chunks/') && name.endsWith('.js')) chunks[name] = output.bytes;
  }
  return {
    entries: entries.map((entry) => `${entry}.js`),
    chunks,
    ms: Math.round(performance.now() - started),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const built = await buildPackage({ outdir: join(repository, 'dist') });
  const bytes = Object.values(built.chunks).reduce((sum, size) => sum + size, 0);
  process.stdout.write(
    `Package bundled in ${built.ms} ms: ${built.entries.length} entries, ${Object.keys(built.chunks).length} chunks (${(bytes / 1024).toFixed(0)} KiB)\n`,
  );
}
