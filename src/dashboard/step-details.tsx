/** One step of a run in full: what it is, when, how long, its tokens and cost, its input (where the journal has it), its output and error. */

import { useEffect, useRef } from 'preact/hooks';
import { ForkControl } from './fork-control.js';
import { formatCost, formatDuration, formatJson, formatTime, formatTokens } from './format.js';
import { stepRoute } from './run-model.js';
import { errorClass } from './run-views.js';
import { PromptView, StepOutput } from './step-content.js';
import { stepInput } from './timeline-model.js';
import type { JournalEntry } from './types.js';

const shown = 50_000;

/** Props of {@link StepDetails}. */
export interface StepDetailsProps {
  entries: readonly JournalEntry[];
  /** Journal position (1-based). */
  position: number;
  entry: JournalEntry;
  runStart: number;
  /** The run's target, the first part of an error's route. */
  target: string;
  onClose(): void;
}

/** The panel of the selected step; Escape closes it. */
export function StepDetails({ entries, position, entry, runStart, target, onClose }: StepDetailsProps) {
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') onClose();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [onClose]);
  useEffect(() => {
    panel.current?.scrollIntoView?.({ block: 'nearest' });
  }, [position]);
  const meta = entry.meta ?? {};
  const { agent, model, tool, usage, costUsd, prompt: _prompt, ...rest } = meta;
  const input = stepInput(entries, position);
  return (
    <aside class="step-details card" ref={panel} aria-labelledby="step-title" data-position={position}>
      <div class="details-head">
        <h2 id="step-title">{entry.name}</h2>
        <button type="button" class="quiet" onClick={onClose} aria-label="Close step details">
          ✕
        </button>
      </div>
      <dl class="facts compact">
        <div>
          <dt>Step</dt>
          <dd>
            #{position} <code>{entry.key}</code>
          </dd>
        </div>
        <div>
          <dt>Kind</dt>
          <dd>{entry.kind}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd class={`step-status-${entry.status}`}>{entry.status}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            {formatTime(entry.startedAt)} (+{formatDuration(entry.startedAt - runStart)})
          </dd>
        </div>
        <div>
          <dt>Latency</dt>
          <dd data-latency={entry.endedAt - entry.startedAt}>
            {formatDuration(entry.endedAt - entry.startedAt)}
          </dd>
        </div>
        {agent === undefined ? null : (
          <div>
            <dt>Agent</dt>
            <dd>{agent}</dd>
          </div>
        )}
        {model === undefined ? null : (
          <div>
            <dt>Model</dt>
            <dd>{model}</dd>
          </div>
        )}
        {tool === undefined ? null : (
          <div>
            <dt>Tool</dt>
            <dd>{tool}</dd>
          </div>
        )}
        {usage === undefined ? null : (
          <div>
            <dt>Tokens</dt>
            <dd>
              {formatTokens(usage.inputTokens)} in, {formatTokens(usage.outputTokens)} out
            </dd>
          </div>
        )}
        {costUsd === undefined ? null : (
          <div>
            <dt>Cost</dt>
            <dd>{formatCost(costUsd)}</dd>
          </div>
        )}
      </dl>
      {input === undefined ? null : (
        <section>
          <h3>{entry.kind === 'model' ? 'Prompt' : 'Input'}</h3>
          {entry.kind === 'model' ? (
            <PromptView prompt={input} />
          ) : (
            <pre class="step-input">{formatJson(input, shown)}</pre>
          )}
        </section>
      )}
      {entry.error === undefined ? null : (
        <section class="step-error-section">
          <h3>Error</h3>
          <p class="error-class" data-error-class>
            {errorClass(entry.error)}
          </p>
          <p class="error-route" data-error-route>
            raised at {stepRoute(entries, position, target).join(' › ')}
          </p>
          <p class="step-error-message">{entry.error.message}</p>
          <details>
            <summary>The error as recorded</summary>
            <pre class="step-error">{formatJson(entry.error, shown)}</pre>
          </details>
        </section>
      )}
      {entry.status === 'failed' && entry.result === undefined ? null : (
        <section>
          <h3>{entry.kind === 'model' ? 'Response' : 'Output'}</h3>
          <StepOutput entry={entry} />
        </section>
      )}
      {Object.keys(rest).length === 0 ? null : (
        <details>
          <summary>Recorded details</summary>
          <pre class="step-meta">{formatJson(rest, shown)}</pre>
        </details>
      )}
      <ForkControl key={entry.key} entry={entry} />
    </aside>
  );
}
