/** Running the built `baton` CLI from tests: offline (no model credentials), without colours. */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root, where the CLI runs (team files and examples resolve from it). */
export const repo = join(import.meta.dirname, '..');
const main = join(repo, 'dist', 'cli', 'main.js');

/** Throws when the CLI is not built (call it in `beforeAll`). */
export function assertCliBuilt(): void {
  if (!existsSync(main))
    throw new Error(`${main} is missing: build first with \`npm run build\` (npm test does it for you).`);
}

/** Variables that would make a run use a real model, colours or a key; every CLI test drops them. */
const dropped = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'BATON_MODEL',
  'BATON_AUDIT_KEY',
  'FORCE_COLOR',
];

/** The environment of an offline CLI test: this process's, without `dropped` and `drop`, plus `extra`. */
export function offlineEnv(extra: NodeJS.ProcessEnv = {}, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const key of [...dropped, ...drop]) delete env[key];
  return env;
}

/** Where and how `runBaton` runs the CLI; by default in the repository with an empty stdin pipe. */
export interface RunBatonOptions {
  /** The working folder (default: the repository). */
  cwd?: string;
  /** Text written to the CLI's stdin (a pipe from this process, which baton reads only for `-`). */
  input?: string;
  /** A file descriptor to give the CLI as stdin instead (a redirected file: `baton … < file`). */
  stdinFd?: number;
  /** The script to run (default: the built CLI of this repository). */
  script?: string;
}

/** Runs `baton <args>` in the repository (or `options.cwd`) with `env` and returns its exit code and output. */
export function runBaton(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  options: RunBatonOptions = {},
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [options.script ?? main, ...args], {
    cwd: options.cwd ?? repo,
    env,
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.stdinFd === undefined ? {} : { stdio: [options.stdinFd, 'pipe', 'pipe'] as const }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
