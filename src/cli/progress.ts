/** The live progress printer: turns a run's events into readable terminal output as they arrive. */

import type { BatonEvent } from '../index.js';
import { formatDuration, preview } from './format.js';
import { decisionSummary, ledgerSummary } from './ledger-text.js';
import type { Style, Writer } from './output.js';

/** What the printer remembers about how the run stopped (for the summary). */
export interface ProgressState {
  /** Signals the run waits for, if it suspended. */
  waitingFor: string[];
  /** When a suspended run's timer fires, if it waits for one. */
  wakeAt: number | undefined;
}

/** Two spaces per level of nesting of a scope (`r` is 0, `r/2` is 1, `r/0.1/3` is 2), for pattern lines. */
function depthPad(scope: string): string {
  let depth = 0;
  for (const character of scope) if (character === '/') depth++;
  return '  '.repeat(depth);
}

/** Marks, in a waiting stream's queue, the end of a model turn: the terminal can go to another stream. */
const turnEnd = Symbol('turn-end');

type Queued = (() => void) | typeof turnEnd;

/**
 * Prints events as they arrive: the agent at work, model text as it streams, each tool call
 * with its input and result, each handoff with its payload, failed steps and custom events,
 * and what patterns do (start and end, the speaker of each round, ledgers, decisions), those
 * indented two spaces per level of nesting.
 * Text is indented under its agent and word-wrapped to the terminal width on a TTY. When
 * agents run in parallel, one streams live while the others are held back and printed
 * whole when the terminal is free, so their text never interleaves word by word.
 *
 * @example
 * ```ts
 * const printer = new ProgressPrinter(process.stdout, createStyle(process.stdout, process.env));
 * const off = runtime.on((event) => printer.print(event));
 * ```
 */
export class ProgressPrinter {
  readonly state: ProgressState = { waitingFor: [], wakeAt: undefined };
  readonly #out: Writer;
  readonly #style: Style;
  readonly #width: number;
  /** The scope whose output was printed last (its agent header is showing). */
  #shown: string | undefined;
  /** The scope that streams live right now; others queue. */
  #owner: string | undefined;
  readonly #queues = new Map<string, Queued[]>();
  #column = 0;
  #streamedText = false;

  constructor(out: Writer, style: Style) {
    this.#out = out;
    this.#style = style;
    this.#width =
      out.isTTY === true ? Math.min(Math.max((out.columns ?? 100) - 2, 40), 110) : Number.POSITIVE_INFINITY;
  }

  /** Prints one event (or queues it behind another agent that is streaming). */
  print(event: BatonEvent): void {
    const style = this.#style;
    switch (event.type) {
      case 'run-start':
        this.#line(
          event.resumed
            ? `${style.cyan('↻')} ${style.bold(event.target)} ${style.dim(`resumed · ${event.runId} · recorded steps replay without running again`)}`
            : `${style.cyan('▶')} ${style.bold(event.target)} ${style.dim(event.runId)}`,
        );
        return;
      case 'agent-start':
        this.#route(event.scope, () => this.#header(event.scope, event.agent, true));
        return;
      case 'model-delta':
        this.#route(
          event.scope,
          () => {
            this.#header(event.scope, event.agent, false);
            this.#text(event.text);
          },
          { claims: true },
        );
        return;
      case 'tool-call':
        this.#route(event.scope, () => {
          this.#header(event.scope, event.agent, false);
          this.#line(
            `  ${style.yellow('→')} ${style.yellow(event.tool)} ${style.dim(preview(event.input, this.#room(5 + event.tool.length)))}`,
          );
        });
        return;
      case 'tool-result':
        this.#route(event.scope, () => {
          this.#header(event.scope, event.agent, false);
          if (event.error !== undefined)
            this.#line(`    ${style.red(`✗ ${event.tool} failed: ${event.error}`)}`);
          else this.#line(`    ${style.green('←')} ${style.dim(preview(event.output, this.#room(6)))}`);
        });
        return;
      case 'handoff':
        this.#route(event.scope, () =>
          this.#line(
            `  ${style.magenta('⇢')} ${style.magenta(`${event.from} → ${event.to}`)}${event.payload === undefined ? '' : ` ${style.dim(preview(event.payload, this.#room(9 + event.from.length + event.to.length)))}`}`,
          ),
        );
        return;
      case 'step-end': {
        const scope = event.key.slice(0, event.key.indexOf('#'));
        // A pattern's ledger and decision steps are shown by their own events (ledger-update, pattern-decision).
        const patternRecord = event.meta?.ledger !== undefined || event.meta?.decision !== undefined;
        const line =
          event.status === 'failed' && event.kind !== 'tool'
            ? `  ${style.red(`✗ ${event.name} failed: ${event.error?.message ?? 'unknown error'}`)}`
            : event.status === 'completed' && event.kind === 'step' && !patternRecord
              ? `  ${style.green('✓')} ${event.name} ${style.dim(formatDuration(event.durationMs))}`
              : undefined;
        this.#route(
          scope,
          () => {
            if (line === undefined) this.#endOfText();
            else this.#line(line);
          },
          { endsTurn: event.kind === 'model' },
        );
        return;
      }
      case 'pattern-start':
        this.#route(event.scope, () => {
          const members = event.members.length === 0 ? '' : ` with ${event.members.join(', ')}`;
          const where = event.scope === 'r' ? '' : ` ${style.dim(`(${event.scope})`)}`;
          this.#line(
            `${depthPad(event.scope)}${style.cyan('▸')} ${style.bold(event.pattern)} "${event.name}"${members}${where}`,
          );
        });
        return;
      case 'speaker-selected':
        this.#route(event.scope, () => {
          const pad = `${depthPad(event.scope)}  `;
          const head = `round ${event.round} → ${event.speaker}`;
          const reason =
            event.reason === undefined || event.reason === ''
              ? ''
              : ` ${style.dim(`(${preview(event.reason, this.#room(pad.length + head.length + 3))})`)}`;
          this.#line(
            `${pad}${style.magenta(`round ${event.round} →`)} ${style.bold(event.speaker)}${reason}`,
          );
        });
        return;
      case 'ledger-update':
        this.#route(event.scope, () => {
          const pad = `${depthPad(event.scope)}  `;
          const [first = '', ...rest] = ledgerSummary(
            event.ledger,
            event.round,
            event.data,
            this.#room(pad.length + 2),
          );
          this.#line(`${pad}${style.blue('≡')} ${first}`);
          for (const line of rest) this.#line(`${pad}  ${style.dim(line)}`);
        });
        return;
      case 'pattern-decision':
        this.#route(event.scope, () => {
          const pad = `${depthPad(event.scope)}  `;
          const text = decisionSummary(event.decision, event.reasons, this.#room(pad.length + 2));
          const decision = text.slice(0, event.decision.length);
          this.#line(
            `${pad}${style.yellow('◆')} ${style.bold(decision)}${style.dim(text.slice(decision.length))}`,
          );
        });
        return;
      case 'pattern-end':
        this.#route(event.scope, () =>
          this.#line(
            `${depthPad(event.scope)}${style.cyan('◂')} ${event.pattern} "${event.name}" ended: ${style.bold(event.outcome)}`,
          ),
        );
        return;
      case 'custom':
        this.#route(event.scope, () =>
          this.#line(
            `  ${style.blue('•')} ${event.name}${event.data === undefined ? '' : ` ${style.dim(preview(event.data, this.#room(5 + event.name.length)))}`}`,
          ),
        );
        return;
      case 'run-suspended':
        this.state.waitingFor = event.waitingFor;
        this.state.wakeAt = event.wakeAt;
        this.finish();
        return;
      case 'agent-end':
        this.#route(event.scope, () => this.#endOfText(), { endsTurn: true });
        return;
      case 'run-end':
        this.finish();
        return;
      default:
        return;
    }
  }

  /** Prints everything still queued and ends a line of streamed text, if one is open. */
  finish(): void {
    this.#owner = undefined;
    for (const queue of this.#queues.values()) {
      for (const item of queue.splice(0)) if (item !== turnEnd) item();
    }
    this.#endOfText();
  }

  /**
   * Runs `action` now if `scope` may use the terminal, else queues it. Streaming text `claims`
   * the terminal for its scope until the end of its turn (`endsTurn`); one-line events print
   * at once when nobody streams.
   */
  #route(scope: string, action: () => void, options: { claims?: boolean; endsTurn?: boolean } = {}): void {
    const endsTurn = options.endsTurn === true;
    if (this.#owner === undefined && options.claims === true) this.#owner = scope;
    if (this.#owner !== undefined && this.#owner !== scope) {
      const queue = this.#queues.get(scope) ?? [];
      this.#queues.set(scope, queue);
      queue.push(action);
      if (endsTurn) queue.push(turnEnd);
      return;
    }
    action();
    if (endsTurn && this.#owner === scope) this.#release();
  }

  /** Frees the terminal: replays waiting scopes in arrival order until one is mid-turn (and keeps it). */
  #release(): void {
    this.#owner = undefined;
    for (const [scope, queue] of this.#queues) {
      if (queue.length === 0) continue;
      this.#owner = scope;
      while (queue.length > 0) {
        const item = queue.shift() as Queued;
        if (item === turnEnd) {
          this.#owner = undefined;
          break;
        }
        item();
      }
      if (this.#owner !== undefined) return;
    }
  }

  /** Columns left for a one-line preview after `used` columns (160 when not on a terminal). */
  #room(used: number): number {
    return Number.isFinite(this.#width) ? Math.max(this.#width - used, 20) : 160;
  }

  #header(scope: string, agent: string, starting: boolean): void {
    if (this.#shown === scope && !starting) return;
    this.#endOfText();
    const where = scope === 'r' ? '' : ` ${this.#style.dim(`(${scope})`)}`;
    this.#line('');
    this.#line(`${this.#style.bold(this.#style.cyan(`● ${agent}`))}${where}`);
    this.#shown = scope;
  }

  /** Writes streamed model text, indented by two spaces and wrapped at words on a TTY. */
  #text(text: string): void {
    const lines = text.split('\n');
    for (const [index, line] of lines.entries()) {
      if (index > 0) {
        this.#out.write('\n');
        this.#column = 0;
      }
      for (const word of line.match(/\s*\S+\s*|\s+/g) ?? []) {
        if (this.#column === 0) {
          const trimmed = word.trimStart();
          if (trimmed === '') continue;
          this.#out.write(`  ${trimmed}`);
          this.#column = 2 + trimmed.length;
        } else if (this.#column + word.trimEnd().length > this.#width) {
          const trimmed = word.trim();
          this.#out.write(`\n  ${trimmed}${word.endsWith(' ') ? ' ' : ''}`);
          this.#column = 2 + trimmed.length + (word.endsWith(' ') ? 1 : 0);
        } else {
          this.#out.write(word);
          this.#column += word.length;
        }
      }
    }
    this.#streamedText = true;
  }

  #endOfText(): void {
    if (this.#streamedText && this.#column > 0) this.#out.write('\n');
    this.#column = 0;
    this.#streamedText = false;
  }

  #line(text: string): void {
    this.#endOfText();
    this.#out.write(`${text}\n`);
  }
}
