/** The run page's views beside the timeline: the tree of child runs and agents, ledgers as ledgers, a group chat as a chat, errors with their class and route, and where the run was interrupted. */

import { formatDuration, formatJson, formatTime } from './format.js';
import { href } from './router.js';
import { type ChatLine, type Interruption, type LedgerEntry, stepRoute, type TreeNode } from './run-model.js';
import type { ErrorInfo, JournalEntry } from './types.js';

/** Props shared by the views that open a step. */
interface Opens {
  onSelect(position: number): void;
}

/** A node's latency: end − start, or "running" while it has no end. */
function latency(node: TreeNode, now: number, open: boolean): string {
  if (node.start === undefined) return '—';
  if (open && node.kind !== 'agent' && node.position === undefined && node.kind !== 'run')
    return `${formatDuration(now - node.start)}…`;
  return formatDuration((node.end ?? now) - node.start);
}

/** The tree of the run: child runs (a click opens a child: its steps alone on the timeline), distributed children (links to their runs) and the agents of each. */
export function RunTreeView({
  root,
  now,
  open,
  scope,
  onOpenScope,
  onSelect,
}: {
  root: TreeNode;
  now: number;
  open: boolean;
  scope: string | undefined;
  onOpenScope(scope: string | undefined, position: number | undefined): void;
} & Opens) {
  const item = (node: TreeNode) => {
    const label = (
      <>
        <span class={`tree-kind tree-${node.kind}`} aria-hidden="true">
          {node.kind === 'agent' ? '●' : node.kind === 'spawn' ? '↗' : '▸'}
        </span>
        <span class="tree-label">{node.label}</span>
        {node.patterns.map((pattern) => (
          <span class="tree-pattern" key={pattern}>
            {pattern}
          </span>
        ))}
        {node.failures === 0 ? null : (
          <span class="tree-failed">
            {node.failures} failed step{node.failures === 1 ? '' : 's'}
          </span>
        )}
        <span class="tree-latency">{latency(node, now, open)}</span>
      </>
    );
    const current = node.scope !== undefined && (scope ?? 'r') === node.scope;
    return (
      <li key={`${node.kind}-${node.scope ?? node.runId ?? node.label}-${node.position ?? 0}`}>
        {node.kind === 'spawn' && node.runId !== undefined ? (
          <a class="tree-node" href={href(`runs/${encodeURIComponent(node.runId)}`)} data-kind={node.kind}>
            {label}
            <span class="visually-hidden"> (its own run)</span>
          </a>
        ) : node.kind === 'agent' ? (
          <button
            type="button"
            class="tree-node"
            data-kind={node.kind}
            onClick={() => node.position !== undefined && onSelect(node.position)}
            title={`${node.steps} steps; open its first`}
          >
            {label}
          </button>
        ) : (
          <button
            type="button"
            class="tree-node"
            data-kind={node.kind}
            aria-current={current ? 'true' : undefined}
            onClick={() => onOpenScope(node.kind === 'run' ? undefined : node.scope, node.position)}
            title={node.kind === 'run' ? 'Show the whole run' : 'Show this child run alone on the timeline'}
          >
            {label}
          </button>
        )}
        {node.children.length === 0 ? null : <ul>{node.children.map(item)}</ul>}
      </li>
    );
  };
  return (
    <section class="card run-tree" aria-labelledby="tree-title">
      <h2 id="tree-title">Runs and agents</h2>
      <ul class="tree">{item(root)}</ul>
    </section>
  );
}

const factLabels: [string, string][] = [
  ['given', 'Given or verified'],
  ['toLookUp', 'To look up'],
  ['toDerive', 'To derive'],
  ['guesses', 'Guesses'],
];

const progressLabels: [string, string][] = [
  ['requestSatisfied', 'Done?'],
  ['inLoop', 'In a loop?'],
  ['progressBeingMade', 'Progress?'],
  ['nextSpeaker', 'Next speaker'],
  ['instruction', 'Instruction'],
];

type Fields = Record<string, unknown>;
const isFields = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))) : [];
const answerText = (value: unknown): string => {
  const answer = isFields(value) ? value.answer : value;
  return typeof answer === 'boolean'
    ? answer
      ? 'yes'
      : 'no'
    : typeof answer === 'string'
      ? answer
      : formatJson(answer);
};

/** A task ledger (facts by kind, the plan) or any other ledger's data. */
export function LedgerCard({ ledger }: { ledger: Pick<LedgerEntry, 'ledger' | 'round' | 'data'> }) {
  const data = ledger.data;
  if (isFields(data) && ('facts' in data || 'plan' in data)) {
    const facts = isFields(data.facts) ? data.facts : {};
    return (
      <div class="ledger ledger-task">
        {typeof data.reason === 'string' ? <p class="ledger-reason">Why: {data.reason}</p> : null}
        <div class="ledger-facts">
          {factLabels.map(([key, label]) => (
            <div key={key}>
              <h4>{label}</h4>
              {strings(facts[key]).length === 0 ? (
                <p class="muted">none</p>
              ) : (
                <ul>
                  {strings(facts[key]).map((fact) => (
                    <li key={fact}>{fact}</li>
                  ))}
                </ul>
              )}
            </div>
          ))}
        </div>
        <h4>Plan</h4>
        <ol class="ledger-plan">
          {strings(data.plan).map((step, index) => (
            <li key={`${index}-${step}`}>{step}</li>
          ))}
        </ol>
      </div>
    );
  }
  if (isFields(data) && progressLabels.some(([key]) => key in data)) {
    return (
      <dl class="ledger ledger-progress">
        {progressLabels.map(([key, label]) => (
          <div key={key}>
            <dt>{label}</dt>
            <dd>
              <strong>{answerText(data[key])}</strong>
              {isFields(data[key]) && typeof data[key].reason === 'string' ? (
                <span class="muted"> — {data[key].reason}</span>
              ) : null}
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return <pre>{formatJson(data, 20_000)}</pre>;
}

/** The ledgers of the run: the task ledger in force (and how many plans came before), and one row per progress ledger. */
export function LedgersView({ list, onSelect }: { list: readonly LedgerEntry[] } & Opens) {
  if (list.length === 0) return null;
  const tasks = list.filter((ledger) => ledger.ledger === 'task');
  const progress = list.filter((ledger) => ledger.ledger === 'progress');
  const others = list.filter((ledger) => ledger.ledger !== 'task' && ledger.ledger !== 'progress');
  const task = tasks.at(-1);
  return (
    <section class="card ledgers" aria-labelledby="ledgers-title">
      <h2 id="ledgers-title">Ledgers</h2>
      {task === undefined ? null : (
        <section class="task-ledger" aria-label="Task ledger">
          <h3>
            Task ledger{' '}
            <button type="button" class="link" onClick={() => onSelect(task.position)}>
              step #{task.position}
            </button>
            {tasks.length > 1 ? (
              <span class="muted"> (plan {tasks.length}; earlier plans are earlier steps)</span>
            ) : null}
          </h3>
          <LedgerCard ledger={task} />
        </section>
      )}
      {progress.length === 0 ? null : (
        <section class="progress-ledger" aria-label="Progress ledger">
          <h3>Progress ledger</h3>
          <div class="table-scroll">
            <table class="progress-table">
              <thead>
                <tr>
                  <th scope="col">Round</th>
                  {progressLabels.map(([key, label]) => (
                    <th scope="col" key={key}>
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {progress.map((ledger) => {
                  const data = isFields(ledger.data) ? ledger.data : {};
                  return (
                    <tr key={ledger.position}>
                      <th scope="row">
                        <button type="button" class="link" onClick={() => onSelect(ledger.position)}>
                          {ledger.round ?? '—'}
                        </button>
                      </th>
                      {progressLabels.map(([key]) => (
                        <td
                          key={key}
                          title={
                            isFields(data[key]) && typeof data[key].reason === 'string'
                              ? data[key].reason
                              : undefined
                          }
                        >
                          {answerText(data[key])}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {others.map((ledger) => (
        <section key={ledger.position} aria-label={`${ledger.ledger} ledger`}>
          <h3>
            {ledger.ledger} ledger{ledger.round === undefined ? '' : `, round ${ledger.round}`}
          </h3>
          <LedgerCard ledger={ledger} />
        </section>
      ))}
    </section>
  );
}

/** A group chat's thread as a chat: one bubble per message, the speaker above it. */
export function ChatView({ lines, live, onSelect }: { lines: readonly ChatLine[]; live: boolean } & Opens) {
  const speakers = [...new Set(lines.map((line) => line.speaker))];
  return (
    <section class="card chat" aria-labelledby="chat-title">
      <h2 id="chat-title">
        Chat{' '}
        <span class="muted">
          ({lines.length} messages{live ? ', so far' : ''})
        </span>
      </h2>
      <ol class="chat-thread">
        {lines.map((line, index) => (
          <li
            key={`${index}-${line.speaker}`}
            class={`chat-message speaker-${speakers.indexOf(line.speaker) % 6}${line.speaker === 'user' ? ' from-user' : ''}`}
          >
            <span class="chat-speaker">{line.speaker}</span>
            <p class="chat-text">{line.text}</p>
            {line.position === undefined ? null : (
              <button type="button" class="link chat-step" onClick={() => onSelect(line.position as number)}>
                step #{line.position}
              </button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** An error's class: its code and name, what kind of failure (`errorClass`) and whose fault. */
export function errorClass(error: ErrorInfo): string {
  const data = (error.data ?? {}) as Record<string, unknown>;
  const parts = [error.code, error.name === 'Error' && error.code !== undefined ? undefined : error.name];
  if (typeof data.errorClass === 'string') parts.push(data.errorClass);
  if (typeof error.fault === 'string') parts.push(`${error.fault}'s fault`);
  if (typeof data.attempts === 'number' && data.attempts > 1) parts.push(`${data.attempts} attempts`);
  return parts.filter((part): part is string => part !== undefined && part !== '').join(' · ');
}

/** Every failed step: its error's class, the route that raised it, its message; a click opens the step. */
export function ErrorsView({
  entries,
  target,
  onSelect,
}: { entries: readonly JournalEntry[]; target: string } & Opens) {
  const failed = entries.flatMap((entry, index) =>
    entry.status === 'failed' && entry.error !== undefined
      ? [{ entry, position: index + 1, error: entry.error }]
      : [],
  );
  if (failed.length === 0) return null;
  return (
    <section class="card errors" aria-labelledby="errors-title">
      <h2 id="errors-title">Errors ({failed.length})</h2>
      <ul class="error-list">
        {failed.map(({ position, error }) => (
          <li key={position} class="error-item">
            <button type="button" class="error-open" onClick={() => onSelect(position)}>
              <span class="error-class">{errorClass(error)}</span>
              <span class="error-route">{stepRoute(entries, position, target).join(' › ')}</span>
              <span class="error-message">{error.message}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Where the run stood still: after which step, for how long, and the step it resumed with. */
export function InterruptionNote({
  gaps,
  entries,
  onSelect,
}: { gaps: readonly Interruption[]; entries: readonly JournalEntry[] } & Opens) {
  if (gaps.length === 0) return null;
  return (
    <div class="interruption-note" role="note">
      {gaps.map((gap) => (
        <p key={gap.after}>
          <span aria-hidden="true">↻ </span>
          Interrupted after{' '}
          <button type="button" class="link" onClick={() => onSelect(gap.before)}>
            step #{gap.before} {entries[gap.before - 1]?.name}
          </button>{' '}
          (ended {formatTime(gap.stoppedAt)}), resumed {formatDuration(gap.resumedAt - gap.stoppedAt)} later
          with{' '}
          <button type="button" class="link" onClick={() => onSelect(gap.after)}>
            step #{gap.after} {entries[gap.after - 1]?.name}
          </button>
          . Steps before it were replayed from the journal, not run again.
        </p>
      ))}
    </div>
  );
}
