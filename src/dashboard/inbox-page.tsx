/** The inbox: every wait a person can answer (tool-call approvals, human members, plain signals), answered here with the approve scope; read again whenever a run changes. */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, followStream } from './api.js';
import { formatJson, formatTime } from './format.js';
import { ErrorNote, LiveDot, useNow } from './parts.js';
import { href } from './router.js';
import type { PendingRequest } from './types.js';

/** The inbox page. */
export function InboxPage() {
  const requests = useSignal<PendingRequest[] | undefined>(undefined);
  const error = useSignal<unknown>(undefined);
  const live = useSignal<'connecting' | 'live' | 'reconnecting' | 'off'>('connecting');
  const reload = useSignal(0);
  const now = useNow(true, 10_000);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = (): void => {
      api<{ requests: PendingRequest[] }>('v1/inbox', { signal: abort.signal })
        .then((answer) => {
          requests.value = answer.requests;
          error.value = undefined;
        })
        .catch((failure: unknown) => {
          if (!abort.signal.aborted) error.value = failure;
        });
    };
    read();
    void followStream('v1/events', {
      signal: abort.signal,
      // Read again once connected: a change between the first read and the connection is not lost.
      onState: (connected) => {
        live.value = connected ? 'live' : 'reconnecting';
        if (connected) read();
      },
      onError: () => {
        live.value = 'off';
      },
      onEvent: () => {
        clearTimeout(timer);
        timer = setTimeout(read, 150);
      },
    });
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [reload.value]);

  const list = requests.value;
  return (
    <section aria-labelledby="inbox-title">
      <div class="page-head">
        <h1 id="inbox-title">Inbox</h1>
        <LiveDot state={live.value} />
      </div>
      <ErrorNote error={error.value} />
      {list === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : list.length === 0 ? (
        <div class="empty">
          <p>Nothing waits for a person.</p>
          <p class="hint">
            Approvals, questions to human members and other waits show up here as runs reach them.
          </p>
        </div>
      ) : (
        <ul class="requests">
          {list.map((request) => (
            <li key={`${request.runId}:${request.signal}`}>
              <RequestCard
                request={request}
                now={now}
                onAnswered={() => {
                  reload.value++;
                }}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function title(request: PendingRequest): string {
  if (request.kind === 'approval') return `Approve ${request.tool ?? 'a tool call'}?`;
  if (request.kind === 'human') return `${request.member ?? 'A human member'} is asked`;
  return `Signal ${request.signal}`;
}

/** One request with its answer buttons. */
function RequestCard({
  request,
  now,
  onAnswered,
}: {
  request: PendingRequest;
  now: number;
  onAnswered(): void;
}) {
  const busy = useSignal(false);
  const error = useSignal<unknown>(undefined);
  const done = useSignal<string | undefined>(undefined);
  const rejecting = useSignal(false);
  const reason = useSignal('');
  const text = useSignal('');
  const runPath = `v1/runs/${encodeURIComponent(request.runId)}`;

  const send = (path: string, body: unknown, outcome: string): void => {
    busy.value = true;
    error.value = undefined;
    api(path, { body })
      .then(() => {
        done.value = outcome;
        onAnswered();
      })
      .catch((failure: unknown) => {
        error.value = failure;
      })
      .finally(() => {
        busy.value = false;
      });
  };

  const answered = request.answered || done.value !== undefined;
  const id = `request-${request.runId}-${request.signal}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return (
    <article
      class={`request card kind-${request.kind}`}
      aria-labelledby={`${id}-title`}
      data-run={request.runId}
      data-kind={request.kind}
    >
      <header>
        <h2 id={`${id}-title`}>{title(request)}</h2>
        <p class="sub">
          <a href={href(`runs/${encodeURIComponent(request.runId)}`)}>{request.target}</a> · run{' '}
          <code>{request.runId}</code> · waiting since {formatTime(request.since, now)}
          {request.deadline === undefined ? '' : ` · answer by ${formatTime(request.deadline, now)}`}
        </p>
      </header>
      {request.input === undefined ? null : (
        <>
          <h3>
            {request.kind === 'approval' ? 'Arguments' : request.kind === 'human' ? 'To review' : 'Input'}
          </h3>
          <pre class="request-input">{formatJson(request.input, 20_000)}</pre>
        </>
      )}
      {request.prompt === undefined ? null : <p class="prompt">{request.prompt}</p>}
      <ErrorNote error={error.value} />
      {answered ? (
        <p class="answered" role="status">
          {done.value ?? 'Answered'}: the run continues.
        </p>
      ) : request.kind === 'approval' ? (
        <form
          class="answer"
          onSubmit={(event) => {
            event.preventDefault();
            if (!rejecting.value) return;
            send(
              `${runPath}/approvals/${encodeURIComponent(request.toolCallId ?? '')}`,
              { approved: false, reason: reason.value.trim() },
              'Rejected',
            );
          }}
        >
          {rejecting.value ? (
            <>
              <label for={`${id}-reason`}>Why? The model reads this.</label>
              <input
                id={`${id}-reason`}
                required
                value={reason.value}
                onInput={(event) => {
                  reason.value = event.currentTarget.value;
                }}
              />
              <div class="row">
                <button type="submit" class="danger" disabled={busy.value || reason.value.trim() === ''}>
                  Reject
                </button>
                <button
                  type="button"
                  class="quiet"
                  onClick={() => {
                    rejecting.value = false;
                  }}
                >
                  Back
                </button>
              </div>
            </>
          ) : (
            <div class="row">
              <button
                type="button"
                class="primary"
                disabled={busy.value}
                onClick={() =>
                  send(
                    `${runPath}/approvals/${encodeURIComponent(request.toolCallId ?? '')}`,
                    { approved: true },
                    'Approved',
                  )
                }
              >
                Approve
              </button>
              <button
                type="button"
                class="danger"
                disabled={busy.value}
                onClick={() => {
                  rejecting.value = true;
                }}
              >
                Reject…
              </button>
            </div>
          )}
        </form>
      ) : (
        <form
          class="answer"
          onSubmit={(event) => {
            event.preventDefault();
            if (request.kind === 'human') {
              send(
                `${runPath}/reply`,
                { member: request.member ?? request.signal, text: text.value },
                'Replied',
              );
              return;
            }
            let payload: unknown = null;
            if (text.value.trim() !== '') {
              try {
                payload = JSON.parse(text.value);
              } catch {
                error.value = new Error(
                  'The payload is not JSON (write "text" in quotes, or leave it empty).',
                );
                return;
              }
            }
            send(`${runPath}/signal`, { name: request.signal, payload }, 'Sent');
          }}
        >
          <label for={`${id}-text`}>
            {request.kind === 'human' ? 'Your answer' : 'Payload (JSON, optional)'}
          </label>
          <textarea
            id={`${id}-text`}
            rows={3}
            value={text.value}
            onInput={(event) => {
              text.value = event.currentTarget.value;
            }}
          />
          <div class="row">
            <button
              type="submit"
              class="primary"
              disabled={busy.value || (request.kind === 'human' && text.value.trim() === '')}
            >
              {request.kind === 'human' ? 'Reply' : 'Send signal'}
            </button>
          </div>
        </form>
      )}
    </article>
  );
}
