/** `baton run <file> [input]`: run a team file or a module's workflow, agent or pattern with live progress. */

import { extname } from 'node:path';
import { findForbiddenKey, forbiddenKeyMessage } from '../../core/forbidden-keys.js';
import type { Store } from '../../core/store.js';
import { moduleExtensions } from '../../team/index.js';
import { type CliContext, type Command, type CommandArguments, UsageError } from '../command.js';
import { type LoadSourceOptions, loadSource } from '../load-source.js';
import { followRun, openSession, printOutcome } from '../session.js';
import { withoutFinalNewline } from '../stdin.js';

/** The `run` command. */
export const runCommand: Command = {
  name: 'run',
  summary: 'Run a team file or a workflow module, with live progress',
  usage: '<file> [input]',
  description:
    'Runs a team file (YAML) or a module (.ts, .js, .mjs) that exports a workflow, agent or pattern,\n' +
    'printing which agent works, model text as it streams, tool calls, handoffs, and at the end the\n' +
    'answer, run id, tokens, cost and time. The run is stored with its source (relative to this\n' +
    'folder), so `baton resume` and `baton signal` can continue it later, from this folder or another\n' +
    'checkout of the project. A team without a configured model runs offline on its offline.script\n' +
    '(see docs/team-files.md).\n' +
    '\n' +
    'The input is the text argument, or - to read it from stdin; with no input argument, text piped\n' +
    'or redirected into baton (`echo question | baton run team.yaml`) is the input. --input-json -\n' +
    'reads JSON from stdin.',
  arguments: [
    {
      name: 'file',
      description: 'a team file (.yaml) or a module exporting a workflow, agent or pattern',
      required: true,
    },
    {
      name: 'input',
      description: 'the input text, or - to read it from stdin (or use --input-json)',
      required: false,
    },
  ],
  options: {
    'input-json': {
      type: 'string',
      value: '<json>',
      description: 'the input as JSON instead of text (- reads it from stdin)',
    },
    export: {
      type: 'string',
      value: '<name>',
      description: 'the export of a module to run (default: its default export)',
    },
    thread: { type: 'string', value: '<id>', description: 'thread id grouping runs of one conversation' },
    model: {
      type: 'string',
      value: '<provider:model>',
      description:
        'team files: use this model for every agent (else BATON_MODEL, the file, or offline); refused for modules',
    },
    offline: {
      type: 'boolean',
      description: 'team files: run on the offline script even if a model is configured; refused for modules',
    },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
  },
  examples: [
    'baton run examples/customer-support/team.yaml "I was charged twice for my order A-1001"',
    'baton run flows/expense.ts --input-json \'{"amount": 120}\'',
    'baton run flows/all.ts --export approval --json',
    'cat question.txt | baton run examples/customer-support/team.yaml',
    'baton run flows/expense.ts --input-json - < expense.json',
  ],
  async run({ positionals, values }, context) {
    const [file, text] = positionals;
    if (file === undefined) throw new UsageError('missing <file>: a team file or a module to run.', 'run');
    const inputJson = values['input-json'] as string | undefined;
    if (text !== undefined && inputJson !== undefined) {
      throw new UsageError('give the input either as text or with --input-json, not both.', 'run');
    }
    const model = modelOption(file, values, 'run');
    const input = await readInput(text, inputJson, context);
    const session = await openSession(context);
    try {
      const loaded = await loadSource(file, sourceOptions(values, context, session.store, model));
      if (loaded.kind === 'team' && input === undefined) {
        throw new UsageError(
          `missing input: a team needs a message, e.g. baton run ${file} "your question", or piped on stdin${context.stdin.piped ? ' (stdin was empty)' : ''}.`,
          'run',
        );
      }
      const mode = { quiet: values.quiet === true, json: values.json === true };
      if (loaded.notice !== undefined) {
        if (mode.quiet || mode.json) context.stderr.write(`${loaded.notice}\n`);
        else context.stdout.write(`${context.style.yellow(loaded.notice)}\n\n`);
      }
      const threadId = values.thread as string | undefined;
      const { record, state } = await followRun(session, context, mode, () =>
        session.runtime.start(loaded.runnable, input, {
          source: loaded.source,
          ...(threadId === undefined ? {} : { threadId }),
        }),
      );
      return printOutcome(record, state, context, mode);
    } finally {
      await session.close();
    }
  },
};

/**
 * The run's input: the text argument, `-` (stdin, which must not be empty), `--input-json`
 * (`-` reads the JSON from stdin), or text piped into baton when no input is given; else undefined.
 */
async function readInput(
  text: string | undefined,
  inputJson: string | undefined,
  context: CliContext,
): Promise<unknown> {
  if (inputJson !== undefined) {
    if (inputJson !== '-') return parseJson(inputJson, '--input-json', 'run');
    const json = await requiredStdin(context, '--input-json - reads the JSON');
    return parseJson(json, '--input-json - (stdin)', 'run');
  }
  if (text === '-') return requiredStdin(context, 'baton run <file> - reads the input');
  if (text !== undefined || !context.stdin.piped) return text;
  const piped = withoutFinalNewline(await context.stdin.read());
  return piped.trim() === '' ? undefined : piped;
}

/** Reads stdin for an input that asked for it; empty stdin is a usage error. */
async function requiredStdin(context: CliContext, what: string): Promise<string> {
  const text = withoutFinalNewline(await context.stdin.read());
  if (text.trim() === '') {
    throw new UsageError(
      `${what} from stdin, and stdin was empty. Pipe the input in, e.g. echo "your question" | baton run <file> -, or give it as an argument.`,
      'run',
    );
  }
  return text;
}

/** --model and --offline choose the model of a team file's agents; a module's agents choose theirs in code. */
/**
 * `--model` and `--offline` of a command that loads `file` (run, eval), as `loadSource`'s
 * `model`: refused together, and refused for a module (its agents name their models in code).
 */
export function modelOption(
  file: string,
  values: CommandArguments['values'],
  command: string,
): string | undefined {
  const model = values.model as string | undefined;
  const offline = values.offline === true;
  if (model !== undefined && offline)
    throw new UsageError('--model and --offline contradict each other; pick one.', command);
  const flag = model !== undefined ? `--model ${model}` : offline ? '--offline' : undefined;
  if (flag !== undefined && moduleExtensions.includes(extname(file).toLowerCase()))
    throw new UsageError(
      `${flag} applies to team files only; ${file} is a module, whose agents name their models in code. Remove ${flag.split(' ')[0]}, or pick the model in the module (for example from process.env.BATON_MODEL).`,
      command,
    );
  return offline ? 'offline' : model;
}

/** `loadSource`'s options for a command's file: its folder, environment, `--export`, the model option and the store. */
export function sourceOptions(
  values: CommandArguments['values'],
  context: CliContext,
  store: Store,
  model: string | undefined,
): LoadSourceOptions {
  return {
    cwd: context.cwd,
    env: context.env,
    exportName: values.export as string | undefined,
    model,
    store,
  };
}

/** Parses JSON given on the command line, with an error that says which argument and how to quote it. */
export function parseJson(text: string, what: string, command: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${what} is not valid JSON (${(error as Error).message}): ${text}\n` +
        `Quote it for the shell and use JSON syntax, e.g. '{"approved": true}', '"some text"' or 42.`,
      command,
    );
  }
  // JSON from the command line meets workflow code: refuse keys that reach a prototype.
  const forbidden = findForbiddenKey(value);
  if (forbidden !== undefined) throw new UsageError(`${what}: ${forbiddenKeyMessage(forbidden)}.`, command);
  return value;
}
