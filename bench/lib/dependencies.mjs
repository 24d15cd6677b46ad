// Installs the bench's own dependencies when bench/node_modules is missing or disagrees with the lockfile.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/**
 * Why bench/node_modules cannot be used as is, or undefined when it matches
 * bench/package.json and bench/package-lock.json. npm writes node_modules/.package-lock.json
 * on every install; comparing it with the committed lockfile catches a missing or changed tree.
 */
export function staleReason(benchDirectory) {
  const manifestFile = path.join(benchDirectory, 'package.json');
  const lockFile = path.join(benchDirectory, 'package-lock.json');
  const installedFile = path.join(benchDirectory, 'node_modules', '.package-lock.json');
  if (!existsSync(path.join(benchDirectory, 'node_modules'))) return 'bench/node_modules is missing';
  if (!existsSync(lockFile)) return 'bench/package-lock.json is missing';
  if (!existsSync(installedFile)) return 'bench/node_modules has no .package-lock.json';

  const manifest = readJson(manifestFile);
  const lock = readJson(lockFile);
  const installed = readJson(installedFile).packages ?? {};
  const lockedRoot = lock.packages?.[''] ?? {};
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (lockedRoot.dependencies?.[name] !== range) return `package-lock.json is out of date for ${name}`;
  }
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (key === '' || entry.link) continue;
    const present = installed[key];
    if (!present) {
      if (entry.optional || entry.devOptional || entry.dev) continue;
      return `${key} is not installed`;
    }
    if (present.version !== entry.version)
      return `${key} is ${present.version}, the lockfile wants ${entry.version}`;
  }
  return undefined;
}

/**
 * Runs `npm install --prefix bench` when needed, so a fresh clone can run `npm run bench`.
 *
 * @returns {boolean} whether an install ran
 * @example
 * ensureDependencies(fileURLToPath(new URL('..', import.meta.url)));
 */
export function ensureDependencies(benchDirectory) {
  const reason = staleReason(benchDirectory);
  if (reason === undefined) return false;
  process.stdout.write(`bench: installing the bench's dependencies (${reason})\n`);
  const install = spawnSync('npm', ['install', '--prefix', benchDirectory, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (install.status !== 0)
    throw new Error(`npm install --prefix ${benchDirectory} failed (exit ${install.status})`);
  const still = staleReason(benchDirectory);
  if (still !== undefined) throw new Error(`bench dependencies still stale after npm install: ${still}`);
  return true;
}
