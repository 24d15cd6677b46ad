/** The definitions a runtime runs by name: registered, resolved, and checked against a stored run (its version and schema). */

import { ConfigError, VersionMismatchError } from './errors.js';
import type { Runnable } from './runnable.js';
import { loadableSchemaVersions, type RunRecord } from './store.js';

/** The definition's version (or one it lists as compatible) is the one the run started with. */
export function canResume(definition: Runnable, record: RunRecord): boolean {
  return (
    record.targetVersion === definition.version ||
    definition.compatibleVersions?.includes(record.targetVersion) === true
  );
}

/** The definitions of one runtime by name (names identify what a stored run resumes with). */
export class RunnableRegistry {
  readonly #definitions = new Map<string, Runnable>();

  /** The definition registered under `name`. */
  get(name: string): Runnable | undefined {
    return this.#definitions.get(name);
  }

  /** Adds definitions; a second definition under a taken name is refused. */
  register(definitions: readonly Runnable[]): void {
    for (const definition of definitions) {
      if (definition === null || typeof definition !== 'object' || typeof definition.execute !== 'function') {
        throw new ConfigError(
          `register(): expected a workflow, agent or pattern, got ${describe(definition)}.`,
        );
      }
      const existing = this.#definitions.get(definition.name);
      if (existing !== undefined && existing !== definition) {
        throw new ConfigError(
          `Two different definitions are named "${definition.name}". Names identify what a stored run resumes with; rename one.`,
        );
      }
      if (existing === definition) continue;
      this.#definitions.set(definition.name, definition);
      // A worker must know a distributed child's target by name (cycles end at `existing`).
      if (definition.distributedChildren !== undefined) this.register(definition.distributedChildren);
    }
  }

  /** The definition to run: a definition (registered on first use) or a registered name. */
  resolve(target: Runnable | string): Runnable {
    if (typeof target !== 'string') {
      if (this.#definitions.get(target.name) !== target) this.register([target]);
      return target;
    }
    const found = this.#definitions.get(target);
    if (found === undefined) {
      const known = [...this.#definitions.keys()];
      throw new ConfigError(
        `No workflow, agent or pattern named "${target}" is registered.${known.length > 0 ? ` Known: ${known.join(', ')}.` : ' Pass it in createRuntime({ workflows }).'}`,
        { code: 'UNKNOWN_TARGET' },
      );
    }
    return found;
  }

  /** The definition that resumes a stored run; throws, changing nothing, when this runtime cannot resume it. */
  forStoredRun(record: RunRecord): Runnable {
    const definition = this.resolve(record.target);
    if (!loadableSchemaVersions.includes(record.schemaVersion)) {
      throw new ConfigError(
        `Run ${record.id} was stored with schema version ${record.schemaVersion}; this Baton loads ${loadableSchemaVersions.join(', ')}.`,
        { runId: record.id },
      );
    }
    if (!canResume(definition, record)) {
      throw new VersionMismatchError(record.target, record.targetVersion, definition.version, record.id);
    }
    return definition;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object without execute()';
  return typeof value;
}
