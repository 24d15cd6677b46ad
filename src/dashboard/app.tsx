/** The dashboard's frame: the header with its navigation and inbox count, the key prompt, and the page of the current route. */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, apiKey, followStream, keyProblem, saveKey } from './api.js';
import { InboxPage } from './inbox-page.js';
import { KeyPrompt } from './key-prompt.js';
import { route } from './router.js';
import { RunPage } from './run-page.js';
import { RunsPage } from './runs-page.js';
import { StatsPage } from './stats-page.js';
import type { PendingRequest } from './types.js';

/** The whole page. */
export function App() {
  const current = route.value;
  const problem = keyProblem.value;
  const key = apiKey.value;
  const waiting = useSignal<number | undefined>(undefined);

  // The inbox count in the header, refreshed when any run changes.
  useEffect(() => {
    if (problem !== undefined) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = (): void => {
      api<{ requests: PendingRequest[] }>('v1/inbox', { signal: abort.signal })
        .then(({ requests }) => {
          waiting.value = requests.filter((request) => !request.answered).length;
        })
        .catch(() => {
          waiting.value = undefined;
        });
    };
    refresh();
    void followStream('v1/events', {
      signal: abort.signal,
      onEvent: () => {
        clearTimeout(timer);
        timer = setTimeout(refresh, 200);
      },
    });
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [key, problem]);

  const link = (page: string, label: string, extra?: preact.ComponentChildren) => (
    <a
      href={`#/${page}`}
      aria-current={current.page === page || (page === 'runs' && current.page === 'run') ? 'page' : undefined}
    >
      {label}
      {extra}
    </a>
  );

  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/runs" aria-label="Baton dashboard, runs">
          <span class="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span class="brand-text"> Baton</span>
        </a>
        <nav aria-label="Pages">
          {link('runs', 'Runs')}
          {link(
            'inbox',
            'Inbox',
            waiting.value === undefined || waiting.value === 0 ? null : (
              <span class="count">
                {waiting.value}
                <span class="visually-hidden"> waiting</span>
              </span>
            ),
          )}
          {link('stats', 'Stats')}
        </nav>
        {key !== undefined && problem === undefined ? (
          <button type="button" class="quiet" onClick={() => saveKey(undefined)}>
            Forget key
          </button>
        ) : null}
      </header>
      <main id="main">
        {problem !== undefined ? (
          <KeyPrompt message={problem} />
        ) : current.page === 'run' && current.id !== undefined ? (
          <RunPage key={`${key}:${current.id}`} id={current.id} />
        ) : current.page === 'inbox' ? (
          <InboxPage key={key} />
        ) : current.page === 'stats' ? (
          <StatsPage key={key} />
        ) : (
          <RunsPage key={key} />
        )}
      </main>
    </>
  );
}
