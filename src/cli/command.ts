/** The shape of a CLI command, its context, usage errors and help rendering. */

import type { Style, Writer } from './output.js';
import type { Stdin } from './stdin.js';
import type { StoreOrigin } from './store-path.js';

/** One option of a command, in `node:util` parseArgs terms plus help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. `<path>`. */
  value?: string;
  description: string;
}

/** What every command gets. */
export interface CliContext {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly style: Style;
  readonly errorStyle: Style;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where `baton run` reads `-` or piped input from. */
  readonly stdin: Stdin;
  /** Absolute path of the SQLite store. */
  readonly storePath: string;
  /** What chose the store: `--store`, the `BATON_STORE` variable, or the default `.baton/baton.db`. */
  readonly storeOrigin: StoreOrigin;
  /** `--store <path>` as the user typed it, repeated in suggested commands; empty for the default. */
  readonly storeFlag: string;
  readonly verbose: boolean;
}

/** Parsed arguments of one command. */
export interface CommandArguments {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** A `baton` subcommand. */
export interface Command {
  name: string;
  /** One line for `baton --help`. */
  summary: string;
  /** Positional arguments, e.g. `<file> [input]`. */
  usage: string;
  /** Longer description for `baton <command> --help`. */
  description: string;
  /** Positional arguments; a last one marked `variadic` takes all remaining words. */
  arguments: ReadonlyArray<{ name: string; description: string; required: boolean; variadic?: boolean }>;
  options: Readonly<Record<string, OptionSpec>>;
  examples: readonly string[];
  /** Returns the exit code. */
  run(args: CommandArguments, context: CliContext): Promise<number>;
}

/**
 * Exit codes: success, failure (of the command or the run), bad usage (a bad argument, or an
 * answer the run's wait refuses), and suspended (the run followed waits for a signal or a timer).
 */
export const exitCodes = { ok: 0, failure: 1, usage: 2, suspended: 3 } as const;

/** A mistake in how the CLI was called (unknown command or flag, bad argument); exits with code 2. */
export class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** Options every command accepts. */
export const globalOptions: Readonly<Record<string, OptionSpec>> = {
  store: {
    type: 'string',
    value: '<path>',
    description: 'SQLite store file (default $BATON_STORE, else .baton/baton.db in this folder)',
  },
  verbose: { type: 'boolean', description: 'print stack traces of errors' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** The help text of a command. */
export function commandHelp(command: Command, style: Style): string {
  const lines = [
    `${style.bold('Usage:')} baton ${command.name}${command.usage === '' ? '' : ` ${command.usage}`} [options]`,
    '',
    command.description,
  ];
  if (command.arguments.length > 0) {
    lines.push('', style.bold('Arguments:'));
    lines.push(...table(command.arguments.map((argument) => [argument.name, argument.description])));
  }
  const options = Object.entries(command.options);
  if (options.length > 0) {
    lines.push('', style.bold('Options:'));
    lines.push(...table(options.map(([name, spec]) => [optionLabel(name, spec), spec.description])));
  }
  lines.push('', style.bold('Global options:'));
  lines.push(
    ...table(
      Object.entries(globalOptions).map(([name, spec]) => [optionLabel(name, spec), spec.description]),
    ),
  );
  if (command.examples.length > 0) {
    lines.push('', style.bold('Examples:'), ...command.examples.map((example) => `  ${example}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The help text of `baton` itself. */
export function mainHelp(commands: readonly Command[], style: Style, version: string): string {
  const lines = [
    `baton ${version} — durable orchestration for teams of LLM agents`,
    '',
    `${style.bold('Usage:')} baton <command> [options]`,
    '',
    style.bold('Commands:'),
    ...table(
      commands.map((command) => [
        `${command.name}${command.usage === '' ? '' : ` ${command.usage}`}`,
        command.summary,
      ]),
    ),
    '',
    style.bold('Global options:'),
    ...table([
      ...Object.entries(globalOptions).map(([name, spec]): [string, string] => [
        optionLabel(name, spec),
        spec.description,
      ]),
      ['--version', 'print the version'],
    ]),
    '',
    'Run `baton <command> --help` for its arguments and options.',
    'Exit codes: 0 done, 1 failed, 2 bad usage or a refused answer, 3 the run is suspended (waits for a signal or a timer).',
    'Try it: baton run examples/customer-support/team.yaml "I was charged twice for my order A-1001"',
  ];
  return `${lines.join('\n')}\n`;
}

function optionLabel(name: string, spec: OptionSpec): string {
  return `${spec.short === undefined ? '' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
}
