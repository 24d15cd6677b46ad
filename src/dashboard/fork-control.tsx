/** Fork a run from one of its steps (`POST /v1/runs/:id/fork`): the new run shares the steps before it and runs live from it; the page moves to it, which says where it came from. */

import { useSignal } from '@preact/signals';
import { api } from './api.js';
import { ErrorNote } from './parts.js';
import { href, route } from './router.js';
import type { ForkOrigin, JournalEntry, Run } from './types.js';

/** "Forked from <run> at step <n>" on a forked run's page: a link to that step of the origin. */
export function ForkOriginNote({ origin }: { origin: ForkOrigin }) {
  const step = origin.step;
  const shared = step === undefined ? 0 : step - 1;
  return (
    <p class="fork-origin">
      Forked from{' '}
      <a
        href={href(`runs/${encodeURIComponent(origin.runId)}`, { step: step?.toString() })}
        title="Open the step it was forked at"
      >
        {origin.runId}
      </a>{' '}
      at step {step === undefined ? null : `${step} `}
      <code>{origin.at}</code>
      {shared === 0
        ? '.'
        : shared === 1
          ? ": step 1 is that run's, as recorded."
          : `: steps 1–${shared} are that run's, as recorded.`}
    </p>
  );
}

/** The fork button of a step of the open run, with an optional other input (JSON). Needs a key with the `run` scope. */
export function ForkControl({ entry }: { entry: JournalEntry }) {
  const runId = route.value.id ?? '';
  const input = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<unknown>(undefined);
  const fork = (event: Event): void => {
    event.preventDefault();
    error.value = undefined;
    const text = input.value.trim();
    let body: { at: string; input?: unknown } = { at: entry.key };
    if (text !== '') {
      try {
        body = { at: entry.key, input: JSON.parse(text) as unknown };
      } catch (failure) {
        error.value = new Error(`The input is not JSON: ${(failure as Error).message}`);
        return;
      }
    }
    busy.value = true;
    api<Run>(`v1/runs/${encodeURIComponent(runId)}/fork`, { body })
      .then((run) => {
        location.hash = href(`runs/${encodeURIComponent(run.id)}`);
      })
      .catch((failure: unknown) => {
        error.value = failure;
      })
      .finally(() => {
        busy.value = false;
      });
  };
  return (
    <form class="fork" onSubmit={fork} aria-label="Fork from this step">
      <h3>Fork from this step</h3>
      <p class="hint">
        A new run shares the steps before this one and runs this step and the rest live (the run's code as
        served now).
      </p>
      <details>
        <summary>With another input</summary>
        <label class="fork-label">
          Input (JSON; empty: the run's own)
          <textarea
            name="fork-input"
            rows={3}
            value={input.value}
            onInput={(event) => {
              input.value = event.currentTarget.value;
            }}
          />
        </label>
      </details>
      <button type="submit" disabled={busy.value}>
        {busy.value ? 'Forking…' : 'Fork from here'}
      </button>
      <ErrorNote error={error.value} />
    </form>
  );
}
