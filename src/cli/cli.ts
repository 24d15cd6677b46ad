/** runCli(): parses `baton` arguments, dispatches to a command, prints errors and returns the exit code. */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { errorMessage } from '../core/errors.js';
import { BatonError } from '../index.js';
import { closestName } from '../team/index.js';
import {
  type CliContext,
  type Command,
  commandHelp,
  exitCodes,
  globalOptions,
  mainHelp,
  UsageError,
} from './command.js';
import { approveCommand } from './commands/approve.js';
import { auditCommand } from './commands/audit.js';
import { cancelCommand } from './commands/cancel.js';
import { devCommand } from './commands/dev.js';
import { evalCommand } from './commands/eval.js';
import { forkCommand } from './commands/fork.js';
import { inboxCommand } from './commands/inbox.js';
import { keysCommand } from './commands/keys.js';
import { mcpCommand } from './commands/mcp.js';
import { replayCommand } from './commands/replay.js';
import { replyCommand } from './commands/reply.js';
import { resumeCommand } from './commands/resume.js';
import { runCommand } from './commands/run.js';
import { runsCommand } from './commands/runs.js';
import { serveCommand } from './commands/serve.js';
import { showCommand } from './commands/show.js';
import { signalCommand } from './commands/signal.js';
import { statsCommand } from './commands/stats.js';
import { webhooksCommand } from './commands/webhooks.js';
import { workerCommand } from './commands/worker.js';
import { createStyle, type Writer } from './output.js';
import { processStdin, type Stdin } from './stdin.js';
import { resolveStorePath } from './store-path.js';

/**
 * Every `baton` command, in help order.
 *
 * @example
 * ```ts
 * commands.map((command) => command.name); // ['run', 'runs', 'show', 'stats', 'eval', 'resume', 'replay', 'fork', 'signal', …, 'worker', 'serve', 'dev', 'keys', 'mcp', 'webhooks']
 * ```
 */
export const commands: readonly Command[] = [
  runCommand,
  runsCommand,
  showCommand,
  statsCommand,
  evalCommand,
  resumeCommand,
  replayCommand,
  forkCommand,
  signalCommand,
  replyCommand,
  approveCommand,
  inboxCommand,
  cancelCommand,
  auditCommand,
  workerCommand,
  serveCommand,
  devCommand,
  keysCommand,
  mcpCommand,
  webhooksCommand,
];

/**
 * Where the CLI reads and writes; `process` by default.
 *
 * @example
 * ```ts
 * await runCli(['runs'], { cwd: '/tmp/project', env: { NO_COLOR: '1' } });
 * ```
 */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Where `baton run` reads its input when it is `-` or piped; the process's stdin by default. */
  stdin: Stdin;
}

/**
 * Runs the `baton` CLI with `argv` (without the node and script paths) and returns the exit
 * code: 0 on success, 1 when the command or the run failed, 2 for bad usage (or an answer
 * the run's wait refuses), 3 when the run it followed is suspended (waits for a signal or a timer).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['runs', '--limit', '5']);
 * ```
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const stdin = io.stdin ?? processStdin();
  const style = createStyle(stdout, env);
  const errorStyle = createStyle(stderr, env);
  const verbose = argv.includes('--verbose');
  let commandName: string | undefined;
  try {
    const index = commandIndex(argv);
    commandName = index === undefined ? undefined : argv[index];
    const rest = index === undefined ? [...argv] : [...argv.slice(0, index), ...argv.slice(index + 1)];
    if (commandName === 'help') {
      const topic = rest.find((argument) => !argument.startsWith('-'));
      const command = topic === undefined ? undefined : findCommand(topic);
      stdout.write(
        command === undefined ? mainHelp(commands, style, version()) : commandHelp(command, style),
      );
      return exitCodes.ok;
    }
    if (commandName === undefined) {
      if (rest.includes('--version') || rest.includes('-v')) {
        stdout.write(`${version()}\n`);
        return exitCodes.ok;
      }
      const unknown = rest.find((argument) => !['--help', '-h', '--verbose'].includes(argument));
      if (unknown !== undefined) throw new UsageError(`unknown option ${unknown.split('=')[0]}.`);
      stdout.write(mainHelp(commands, style, version()));
      return exitCodes.ok;
    }
    const command = findCommand(commandName);
    if (command === undefined) {
      const suggestion = closestName(
        commandName,
        commands.map((candidate) => candidate.name),
      );
      throw new UsageError(
        `unknown command "${commandName}".${suggestion === undefined ? '' : ` Did you mean "${suggestion}"?`} Commands: ${commands.map((candidate) => candidate.name).join(', ')}.`,
      );
    }
    const parsed = parse(command, rest);
    if (parsed.values.help === true) {
      stdout.write(commandHelp(command, style));
      return exitCodes.ok;
    }
    if (parsed.values.store === '') throw new UsageError('--store needs a path.', command.name);
    const store = resolveStorePath(parsed.values.store as string | undefined, env, cwd);
    const context: CliContext = {
      stdout,
      stderr,
      style,
      errorStyle,
      env,
      cwd,
      stdin,
      storePath: store.path,
      storeOrigin: store.origin,
      storeFlag: store.origin === '--store' ? (parsed.values.store as string) : '',
      verbose,
    };
    return await command.run(parsed, context);
  } catch (error) {
    return report(error, { stderr, style: errorStyle, verbose, command: commandName });
  }
}

/** Position of the command word: the first argument that is neither an option nor an option's value. */
function commandIndex(argv: readonly string[]): number | undefined {
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (argument === '--') return index + 1 < argv.length ? index + 1 : undefined;
    if (argument === '--store') {
      index++;
      continue;
    }
    if (!argument.startsWith('-')) return index;
  }
  return undefined;
}

function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}

function parse(
  command: Command,
  args: string[],
): { positionals: string[]; values: Record<string, string | boolean | undefined> } {
  const options = { ...globalOptions, ...command.options };
  try {
    const { positionals, values } = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
    const required = command.arguments.filter((argument) => argument.required).length;
    const allowed = command.arguments.length;
    if (
      positionals.length > allowed &&
      command.name !== 'signal' &&
      command.arguments.at(-1)?.variadic !== true
    ) {
      throw new UsageError(
        `too many arguments for baton ${command.name} (expected ${command.usage || 'none'}; got ${positionals.length}: ${positionals.map((positional) => JSON.stringify(positional)).join(' ')}). Quote text that contains spaces.`,
        command.name,
      );
    }
    if (positionals.length < required && values.help !== true) {
      const missing = command.arguments[positionals.length];
      throw new UsageError(
        `missing <${missing?.name ?? 'argument'}>: ${missing?.description ?? ''}. Usage: baton ${command.name} ${command.usage}`,
        command.name,
      );
    }
    return { positionals, values: values as Record<string, string | boolean | undefined> };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
      const names = Object.keys(options).map((name) => `--${name}`);
      const suggestion = closestName(flag, names);
      throw new UsageError(
        `unknown option ${flag} for baton ${command.name}.${suggestion === undefined ? '' : ` Did you mean ${suggestion}?`} Options: ${names.join(', ')}.`,
        command.name,
      );
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
      const spec = options[flag.replace(/^-+/, '')];
      throw new UsageError(
        spec?.type === 'boolean'
          ? `option ${flag} takes no value.`
          : `option ${flag} needs a value${spec?.value === undefined ? '' : ` ${spec.value}`}.`,
        command.name,
      );
    }
    throw new UsageError(message, command.name);
  }
}

function report(
  error: unknown,
  options: {
    stderr: Writer;
    style: ReturnType<typeof createStyle>;
    verbose: boolean;
    command: string | undefined;
  },
): number {
  const { stderr, style, verbose } = options;
  if (error instanceof UsageError) {
    const help = error.command === undefined ? 'baton --help' : `baton ${error.command} --help`;
    stderr.write(`${style.red('error:')} ${error.message}\n${style.dim(`See ${help}.`)}\n`);
    return exitCodes.usage;
  }
  const message = errorMessage(error);
  stderr.write(`${style.red('error:')} ${message}\n`);
  // A payload the run's wait refuses is bad input to this command: nothing was stored, the run waits on.
  const badInput = BatonError.isInstance(error) && error.code === 'INVALID_SIGNAL_PAYLOAD';
  if (BatonError.isInstance(error) && error.runId !== undefined && !message.includes(error.runId)) {
    stderr.write(style.dim(`Run ${error.runId}: inspect it with baton show ${error.runId}\n`));
  }
  if (verbose) {
    let current: unknown = error;
    while (current instanceof Error) {
      stderr.write(`${style.dim(current.stack ?? current.message)}\n`);
      current = current.cause;
      if (current !== undefined) stderr.write(style.dim('Caused by:\n'));
    }
  } else if (!BatonError.isInstance(error)) {
    stderr.write(style.dim('Run again with --verbose for the stack trace.\n'));
  }
  return badInput ? exitCodes.usage : exitCodes.failure;
}

function version(): string {
  try {
    const packageFile = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(packageFile, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
