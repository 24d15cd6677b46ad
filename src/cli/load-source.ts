/** Loads what `baton run` runs: a team file, or a module's workflow/agent/pattern export; and the recorded source string. */

import { existsSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ConfigError, type Runnable, type Store } from '../index.js';
import {
  didYouMean,
  importModule,
  loadTeamFile,
  moduleExtensions,
  type TeamModelOption,
} from '../team/index.js';

/** A loaded definition and how to find it again. */
export interface LoadedSource {
  runnable: Runnable;
  /**
   * What is recorded on the run (`RunRecord.source`): the file relative to the project folder
   * (`cwd`) when it is inside it, else absolute, plus `#export` for a module. See {@link recordedPath}.
   */
  source: string;
  kind: 'team' | 'module';
  /** A notice to print first (a team running offline). */
  notice: string | undefined;
  /**
   * A team file's nested teams that dispatch children (`distribute: true`): a worker registers
   * them, so it knows their children's targets by name. Empty for a module.
   */
  distributing: readonly Runnable[];
}

/** Options of {@link loadSource}. */
export interface LoadSourceOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The export of a module to run; default: the default export, or the only runnable export. */
  exportName?: string | undefined;
  /** Model selection for team files. */
  model?: TeamModelOption | undefined;
  /** The runtime's store, for team files whose pattern learns from past runs (`evolving`). */
  store?: Store | undefined;
}

const teamExtensions = ['.yaml', '.yml'];
const runnableKinds = new Set(['workflow', 'agent', 'pattern']);

/**
 * Loads a team file or module. Errors say what was expected and list the candidates.
 *
 * @example
 * ```ts
 * const loaded = await loadSource('examples/customer-support/team.yaml', { cwd: process.cwd(), env: process.env });
 * await runtime.start(loaded.runnable, 'hello', { source: loaded.source });
 * ```
 */
export async function loadSource(file: string, options: LoadSourceOptions): Promise<LoadedSource> {
  const path = resolve(options.cwd, file);
  const recorded = recordedPath(path, options.cwd);
  const extension = extname(path).toLowerCase();
  if (teamExtensions.includes(extension)) {
    if (options.exportName !== undefined) {
      throw new ConfigError(`--export applies to modules; ${file} is a team file, which defines one team.`);
    }
    const team = await loadTeamFile(path, {
      cwd: options.cwd,
      env: options.env,
      ...(options.model === undefined ? {} : { model: options.model }),
      ...(options.store === undefined ? {} : { store: options.store }),
    });
    const distributing = [...team.teams.values()].filter(
      (nested) => nested.distributedChildren !== undefined,
    );
    return {
      runnable: team.runnable as Runnable,
      source: recorded,
      kind: 'team',
      notice: team.notice,
      distributing,
    };
  }
  if (!moduleExtensions.includes(extension)) {
    throw new ConfigError(
      `Cannot run "${file}": expected a team file (${teamExtensions.join(', ')}) or a module (${moduleExtensions.join(', ')}).`,
    );
  }
  if (!existsSync(path)) throw new ConfigError(`File not found: ${file} (looked for ${path}).`);
  let module: Record<string, unknown>;
  try {
    module = await importModule(path);
  } catch (error) {
    throw new ConfigError(`Could not load ${file}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }
  const { name, runnable } = pickExport(file, module, options.exportName);
  return { runnable, source: `${recorded}#${name}`, kind: 'module', notice: undefined, distributing: [] };
}

/**
 * How a run records the file it was started from: relative to the project folder (the folder
 * `baton` runs in) with `/` separators when the file is inside it, so the run can be resumed
 * from another checkout of the project; absolute otherwise. Old runs that recorded an absolute
 * path still load (`resolve(cwd, recorded)` keeps an absolute path as it is).
 *
 * @example
 * ```ts
 * recordedPath('/app/flows/expense.ts', '/app'); // 'flows/expense.ts'
 * recordedPath('/elsewhere/flow.ts', '/app'); // '/elsewhere/flow.ts'
 * ```
 */
export function recordedPath(path: string, cwd: string): string {
  const inside = relative(cwd, path);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return path;
  return inside.split(sep).join('/');
}

/**
 * Chooses the export to run: `exportName`, else the default export, else the only runnable export.
 *
 * @example
 * ```ts
 * pickExport('flow.ts', { default: myWorkflow }, undefined); // { name: 'default', runnable: myWorkflow }
 * ```
 */
export function pickExport(
  file: string,
  module: Record<string, unknown>,
  exportName: string | undefined,
): { name: string; runnable: Runnable } {
  const candidates = Object.entries(module)
    .filter(([, value]) => isRunnable(value))
    .map(([name]) => name);
  const listed = candidates.length === 0 ? 'none' : candidates.join(', ');
  if (exportName !== undefined) {
    const value = module[exportName];
    if (value === undefined) {
      throw new ConfigError(
        `${file} has no export "${exportName}". Runnable exports: ${listed}.${didYouMean(exportName, candidates)}`,
      );
    }
    if (!isRunnable(value)) {
      throw new ConfigError(
        `Export "${exportName}" of ${file} is not a workflow, agent or pattern. Runnable exports: ${listed}.`,
      );
    }
    return { name: exportName, runnable: value };
  }
  if (isRunnable(module.default)) return { name: 'default', runnable: module.default };
  const [only, ...others] = candidates;
  if (only !== undefined && others.length === 0) return { name: only, runnable: module[only] as Runnable };
  if (only === undefined) {
    throw new ConfigError(
      `${file} exports no workflow, agent or pattern. Export one (as default, or named and pass --export <name>).`,
    );
  }
  throw new ConfigError(
    `${file} has several runnable exports (${listed}) and no default export; pick one with --export <name>.`,
  );
}

/** True for a workflow, agent or pattern definition. */
export function isRunnable(value: unknown): value is Runnable {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<Runnable>;
  return (
    typeof candidate.execute === 'function' &&
    typeof candidate.name === 'string' &&
    runnableKinds.has(candidate.kind as string)
  );
}

/**
 * Splits a recorded source into the file and the export name (absent for team files).
 *
 * @example
 * ```ts
 * parseSource('/app/flows/expense.ts#approval'); // { file: '/app/flows/expense.ts', exportName: 'approval' }
 * ```
 */
export function parseSource(source: string): { file: string; exportName: string | undefined } {
  const hash = source.lastIndexOf('#');
  const slash = Math.max(source.lastIndexOf('/'), source.lastIndexOf('\\'));
  if (hash > slash && moduleExtensions.includes(extname(source.slice(0, hash)).toLowerCase())) {
    return { file: source.slice(0, hash), exportName: source.slice(hash + 1) };
  }
  return { file: source, exportName: undefined };
}
