/** Unknown options of the public factories are errors with "did you mean", as in team files. */

import { ConfigError } from './errors.js';
import { closestName } from './suggest.js';

/**
 * The option names a factory accepts, plus names other libraries use for one of them (an AI SDK
 * user writes `inputSchema` where Baton says `input`). Build it with {@link optionNames}.
 */
export interface OptionNames {
  readonly names: readonly string[];
  readonly known: ReadonlySet<string>;
  readonly aliases: Readonly<Record<string, string>>;
}

/**
 * The option names of an options type. Listing each key as `true` makes the compiler check the
 * list against the type: a key missing from it, or one the type does not have, is a type error.
 *
 * @example
 * ```ts
 * const workflowOptionNames = optionNames<WorkflowOptions<unknown>>(
 *   { name: true, version: true, compatibleVersions: true, input: true },
 *   { inputSchema: 'input' },
 * );
 * ```
 */
export function optionNames<OPTIONS>(
  names: { readonly [KEY in keyof Required<OPTIONS>]: true },
  aliases: Readonly<Record<string, string>> = {},
): OptionNames {
  const list = Object.keys(names);
  return { names: list, known: new Set(list), aliases };
}

/**
 * Throws a `ConfigError` (code `UNKNOWN_OPTION`) naming the first option of `options` that is not
 * in `names`, with the option meant when it is a known alias or a likely typo, and the options
 * there are. One pass over the given keys, so it is cheap enough for every definition.
 *
 * @example
 * ```ts
 * checkOptionNames('agent("support")', { name: 'support', outputSchema: schema }, agentOptionNames);
 * // ConfigError: agent("support"): unknown option "outputSchema". Did you mean "output"? ...
 * ```
 */
export function checkOptionNames(where: string, options: object, names: OptionNames): void {
  for (const key of Object.keys(options)) {
    if (names.known.has(key)) continue;
    const meant = names.aliases[key] ?? closestName(key, names.names);
    const hint = meant === undefined ? '' : ` Did you mean "${meant}"?`;
    throw new ConfigError(
      `${where}: unknown option "${key}".${hint} Known options: ${names.names.join(', ')}.`,
      { code: 'UNKNOWN_OPTION' },
    );
  }
}
