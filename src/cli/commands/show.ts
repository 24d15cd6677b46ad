/** `baton show <runId>`: a run's summary and its journal as a tree of steps. */

import { describeContext } from '../../context/context-text.js';
import { guardedJournal, withGuardedInput } from '../../governance/guarded-journal.js';
import type { JournalEntry, RunRecord } from '../../index.js';
import { type Command, UsageError } from '../command.js';
import { display, formatCost, formatDuration, formatTime, formatUsage, indent, preview } from '../format.js';
import { type Style, stripAnsi } from '../output.js';
import { openSession } from '../session.js';
import { buildStepTree, type StepNode } from '../step-tree.js';
import { paintStatus } from './runs.js';

/** The `show` command. */
export const showCommand: Command = {
  name: 'show',
  summary: 'Show a run: summary and its steps as a tree',
  usage: '<runId>',
  description:
    'Shows a run: target and version, status, input, output or error, tokens, cost and timings; then\n' +
    'its journal as a tree by scope (child runs under their run: step, parallel branches under their\n' +
    'parallel), each step with kind, duration, tokens, cost, agent, model or tool, and failures;\n' +
    "patterns' ledgers (task: facts and plan; progress: each question's answer and reason) and\n" +
    'decisions (with their reasons) are printed in full under their step.',
  arguments: [{ name: 'runId', description: 'the run to show (see baton runs)', required: true }],
  options: {
    json: { type: 'boolean', description: 'print { run, steps } as JSON (with --full, also the journal)' },
    full: {
      type: 'boolean',
      description: "each step's content: the model's answer and tool calls, each tool's input and output",
    },
  },
  examples: ['baton show run_4f1c…', 'baton show run_4f1c… --full', 'baton show run_4f1c… --json'],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'show');
    if (extra !== undefined) throw new UsageError(`show takes one run id; got also "${extra}".`, 'show');
    const session = await openSession(context, { mustExist: true });
    try {
      const record = await session.runtime.get(runId);
      const origin = await session.runtime.forkOrigin(runId);
      const journal = await session.runtime.journal(runId);
      const steps = buildStepTree(journal);
      const full = values.full === true;
      // Content as the agents' guardrails left it: a redacted tool output is shown redacted.
      const guarded = full ? guardedJournal(journal) : journal;
      if (full) addContent(steps, guarded);
      const shownRecord = withGuardedInput(record, journal);
      if (values.json === true) {
        const shown = { run: shownRecord, ...(origin === undefined ? {} : { forkedFrom: origin }), steps };
        context.stdout.write(`${JSON.stringify(full ? { ...shown, journal: guarded } : shown, null, 2)}\n`);
      } else {
        const forked =
          origin === undefined
            ? ''
            : `  ${context.style.dim('forked'.padEnd(8))}from ${origin.runId} at ${origin.at}${origin.step === undefined ? '' : ` (step ${origin.step})`}\n`;
        const summary = runSummary(shownRecord, context.style);
        const head = forked === '' ? summary : `${summary.trimEnd()}\n${forked}`;
        context.stdout.write(`${head}\n${stepTreeText(steps, context.style)}`);
      }
      return 0;
    } finally {
      await session.close();
    }
  },
};

/** The summary block of a run. */
export function runSummary(record: RunRecord, style: Style): string {
  const rows: Array<[string, string]> = [
    ['target', `${record.target} ${style.dim(`v${record.targetVersion}`)}`],
    ['status', paintStatus(record.status, style)],
  ];
  if (record.source !== undefined) rows.push(['source', record.source]);
  if (record.threadId !== undefined) rows.push(['thread', record.threadId]);
  rows.push(['input', preview(record.input, 200)]);
  if (record.status === 'completed') rows.push(['output', display(record.output)]);
  if (record.status === 'budget-exceeded') rows.push(['partial', display(record.output)]);
  if (record.error !== undefined) {
    rows.push([
      'error',
      style.red(`${record.error.message}${record.error.code === undefined ? '' : ` (${record.error.code})`}`),
    ]);
  }
  if (record.wakeAt !== undefined) rows.push(['wakes', formatTime(record.wakeAt)]);
  rows.push(
    ['tokens', `${formatUsage(record.usage)} (${record.usage.totalTokens} total)`],
    ['cost', formatCost(record.costUsd)],
    ['started', formatTime(record.createdAt)],
  );
  if (record.endedAt !== undefined) {
    rows.push([
      'ended',
      `${formatTime(record.endedAt)} ${style.dim(`(took ${formatDuration(record.endedAt - record.createdAt)})`)}`,
    ]);
  } else {
    rows.push(['updated', formatTime(record.updatedAt)]);
  }
  const lines = [`${style.bold(`Run ${record.id}`)}`];
  for (const [label, value] of rows) {
    const [first, ...rest] = value.split('\n');
    lines.push(`  ${style.dim(label.padEnd(8))}${first ?? ''}`);
    if (rest.length > 0) lines.push(indent(rest.join('\n'), 10));
  }
  return `${lines.join('\n')}\n`;
}

/** The step tree as aligned text, one step per line, with failures, ledgers and decisions under their step. */
export function stepTreeText(steps: readonly StepNode[], style: Style): string {
  if (steps.length === 0) return `${style.bold('Steps')}\n  (none recorded yet)\n`;
  const rows: Array<{
    cells: string[];
    error: string | undefined;
    details: string[] | undefined;
    errorPrefix: string;
  }> = [];
  const walk = (nodes: readonly StepNode[], prefix: string): void => {
    for (const [index, node] of nodes.entries()) {
      const last = index === nodes.length - 1;
      const icon =
        node.status === 'failed'
          ? style.red('✗')
          : node.status === 'pending'
            ? style.yellow('…')
            : style.green('✓');
      const label = `${style.dim(prefix + (last ? '└─ ' : '├─ '))}${icon} ${node.synthetic ? style.dim(node.name) : node.name}`;
      rows.push({
        cells: [label, ...stepColumns(node, style)],
        error: errorText(node.error),
        details: node.details,
        errorPrefix: prefix + (last ? '   ' : '│  '),
      });
      walk(node.children, prefix + (last ? '   ' : '│  '));
    }
  };
  walk(steps, '  ');
  const rightAligned = new Set([2, 3, 4]);
  const widths =
    rows[0]?.cells.map((_, column) =>
      Math.max(...rows.map((row) => stripAnsi(row.cells[column] ?? '').length)),
    ) ?? [];
  const lines = [style.bold('Steps')];
  for (const row of rows) {
    const cells = row.cells.map((cell, column) => {
      const padding = ' '.repeat((widths[column] ?? 0) - stripAnsi(cell).length);
      return rightAligned.has(column) ? padding + cell : cell + padding;
    });
    lines.push(cells.join('  ').trimEnd());
    if (row.error !== undefined)
      lines.push(`${style.dim(row.errorPrefix)}   ${style.red(`error: ${row.error}`)}`);
    for (const detail of row.details ?? []) lines.push(`${style.dim(row.errorPrefix)}   ${detail}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

/** Columns after the name: kind, duration, tokens, cost, and agent/model/tool from the step's meta. */
function stepColumns(node: StepNode, style: Style): string[] {
  const meta = node.meta;
  const about = [
    meta?.agent === undefined ? undefined : `agent ${meta.agent}`,
    meta?.model === undefined ? undefined : `model ${meta.model}`,
    meta?.tool === undefined ? undefined : `tool ${meta.tool}`,
    typeof meta?.attempts === 'number' ? `${meta.attempts} attempts` : undefined,
    Array.isArray(meta?.fallbackFrom) ? `fallback from ${meta.fallbackFrom.join(', ')}` : undefined,
    (meta?.ledger !== undefined || meta?.decision !== undefined) && meta?.pattern !== undefined
      ? `pattern ${String(meta.pattern)}`
      : undefined,
    meta?.ledger !== undefined && meta.round !== undefined ? `round ${String(meta.round)}` : undefined,
    describeContext(meta),
  ].filter((part): part is string => part !== undefined);
  const counted = node.usage.totalTokens > 0 || node.costUsd > 0;
  return [
    style.dim(node.kind),
    node.durationMs === undefined ? '' : formatDuration(node.durationMs),
    counted ? `${formatUsage(node.usage)} tok` : '',
    counted ? formatCost(node.costUsd) : '',
    style.dim(about.join(' · ')),
  ];
}

/** A failed step's error line, with its class and attempts (resilience) when recorded. */
function errorText(error: StepNode['error']): string | undefined {
  if (error === undefined) return undefined;
  const data = error.data ?? {};
  const about = [
    typeof data.errorClass === 'string' ? data.errorClass : undefined,
    typeof data.attempts === 'number' && data.attempts > 1 ? `${data.attempts} attempts` : undefined,
  ].filter((part): part is string => part !== undefined);
  return about.length === 0 ? error.message : `[${about.join(', ')}] ${error.message}`;
}

/** A model call's answer as the journal holds it. */
interface RecordedAnswer {
  text?: string;
  toolCalls?: Array<{ toolCallId?: string; toolName?: string; input?: string }>;
}

/** A message of a journaled prompt (`journalPrompts`), in the GenAI message format. */
interface PromptMessage {
  role?: string;
  parts?: Array<{ type?: string; content?: string; name?: string; arguments?: unknown; response?: unknown }>;
}

const scopeOf = (key: string): string => key.slice(0, key.lastIndexOf('#'));

/** A journaled prompt as indented lines: one per message part. */
function promptLines(prompt: readonly PromptMessage[]): string[] {
  const lines = [`prompt (${prompt.length} messages):`];
  for (const message of prompt) {
    for (const part of message.parts ?? []) {
      const role = message.role ?? '?';
      if (part.type === 'text') lines.push(`  ${role}: ${contentText(part.content ?? '')}`);
      else if (part.type === 'tool_call')
        lines.push(
          `  ${role} calls ${part.name ?? '?'}(${contentText(JSON.stringify(part.arguments) ?? '')})`,
        );
      else if (part.type === 'tool_call_response')
        lines.push(`  ${role} result: ${contentText(part.response)}`);
    }
  }
  return lines;
}

/** A value as a few lines of text (JSON for anything but a string), cut at `limit` characters. */
function contentText(value: unknown, limit = 2000): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length - limit} more characters)` : text;
}

/**
 * `--full`: adds each model and tool step's content to its details: the prompt (when the run
 * journaled it), a model call's answer and the tool calls it asked for (with their arguments),
 * a tool call's arguments (from the model call that asked for it) and its output. Pass the
 * journal through `guardedJournal` first to show content as the guardrails left it.
 */
export function addContent(steps: StepNode[], journal: readonly JournalEntry[]): void {
  const byKey = new Map(journal.map((entry) => [entry.key, entry]));
  /** Arguments asked for and not yet matched to a tool step, by scope and tool name, in order. */
  const asked = new Map<string, string[]>();
  const visit = (nodes: StepNode[]): void => {
    for (const node of nodes) {
      const entry = byKey.get(node.key);
      const scope = scopeOf(node.key);
      if (entry !== undefined && entry.status === 'completed' && node.kind === 'model') {
        const answer = (entry.result ?? {}) as RecordedAnswer;
        const lines: string[] = [];
        if (Array.isArray(entry.meta?.prompt))
          lines.push(...promptLines(entry.meta.prompt as PromptMessage[]));
        if (typeof answer.text === 'string' && answer.text !== '')
          lines.push(`answer: ${contentText(answer.text)}`);
        for (const call of answer.toolCalls ?? []) {
          lines.push(`calls ${call.toolName ?? '?'}(${call.input ?? ''})`);
          const key = `${scope} ${call.toolName}`;
          asked.set(key, [...(asked.get(key) ?? []), call.input ?? '']);
        }
        node.details = [...(node.details ?? []), ...lines.flatMap((line) => line.split('\n'))];
      } else if (entry !== undefined && node.kind === 'tool') {
        const tool = typeof entry.meta?.tool === 'string' ? entry.meta.tool : node.name.replace(/^tool:/, '');
        const queue = asked.get(`${scope} ${tool}`);
        const input = queue?.shift();
        const lines: string[] = [];
        if (input !== undefined) lines.push(`input: ${contentText(input)}`);
        if (entry.status === 'completed') lines.push(`output: ${contentText(entry.result)}`);
        node.details = [...(node.details ?? []), ...lines.flatMap((line) => line.split('\n'))];
      }
      visit(node.children);
    }
  };
  visit(steps);
}
