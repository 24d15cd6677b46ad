/** A step's content for reading: a model call's prompt as messages and its answer with the tool calls it asked for, a ledger as a ledger; anything else as JSON. */

import { formatJson } from './format.js';
import { LedgerCard } from './run-views.js';
import type { JournalEntry } from './types.js';

const shown = 50_000;

/** A message of a journaled prompt (`journalPrompts`), in the GenAI message format. */
interface PromptMessage {
  role?: string;
  parts?: { type?: string; content?: string; name?: string; arguments?: unknown; response?: unknown }[];
}

/** A model call's answer as the journal holds it. */
interface Answer {
  text?: string;
  toolCalls?: { toolCallId?: string; toolName?: string; input?: unknown }[];
}

const argumentsText = (value: unknown): string => {
  if (typeof value !== 'string') return formatJson(value, shown);
  try {
    return JSON.stringify(JSON.parse(value));
  } catch {
    return value;
  }
};

/** A prompt as the model got it: one item per message, its parts as text, tool calls and tool results. */
export function PromptView({ prompt }: { prompt: unknown }) {
  if (!Array.isArray(prompt)) return <pre class="step-input">{formatJson(prompt, shown)}</pre>;
  return (
    <ol class="messages step-input">
      {(prompt as PromptMessage[]).map((message, index) => (
        <li key={index} class={`role-${message.role ?? 'other'}`}>
          <span class="role">{message.role ?? '?'}</span>
          {(message.parts ?? []).map((part, at) => (
            <p class="message-part" key={at}>
              {part.type === 'tool_call' ? (
                <>
                  calls <code>{part.name}</code>(<code>{argumentsText(part.arguments)}</code>)
                </>
              ) : part.type === 'tool_call_response' ? (
                <>
                  result: <code>{formatJson(part.response, shown)}</code>
                </>
              ) : (
                formatJson(part.content ?? '', shown)
              )}
            </p>
          ))}
        </li>
      ))}
    </ol>
  );
}

/** A model call's answer: its text, then the tool calls it asked for. */
export function AnswerView({ answer }: { answer: unknown }) {
  const { text, toolCalls = [] } = (answer ?? {}) as Answer;
  if (typeof text !== 'string' && toolCalls.length === 0)
    return <pre class="step-output">{formatJson(answer, shown)}</pre>;
  return (
    <div class="step-output">
      {typeof text === 'string' && text !== '' ? <p class="message-part">{text}</p> : null}
      {toolCalls.length === 0 ? null : (
        <ul class="messages">
          {toolCalls.map((call, index) => (
            <li key={call.toolCallId ?? index} class="role-assistant">
              <span class="role">tool call</span>
              <p class="message-part">
                <code>{call.toolName}</code>(<code>{argumentsText(call.input)}</code>)
              </p>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The output of a step, read as what it is. */
export function StepOutput({ entry }: { entry: JournalEntry }) {
  const raw = (
    <details class="raw">
      <summary>As recorded</summary>
      <pre class="step-output-json">{formatJson(entry.result, shown)}</pre>
    </details>
  );
  if (entry.kind === 'model' && entry.status === 'completed')
    return (
      <>
        <AnswerView answer={entry.result} />
        {raw}
      </>
    );
  if (entry.name.startsWith('ledger:') && entry.status === 'completed') {
    const round = entry.meta?.round;
    return (
      <>
        <div class="step-output">
          <LedgerCard
            ledger={{
              ledger: entry.name.slice('ledger:'.length),
              round: typeof round === 'number' ? round : undefined,
              data: entry.result,
            }}
          />
        </div>
        {raw}
      </>
    );
  }
  return <pre class="step-output">{formatJson(entry.result, shown)}</pre>;
}
