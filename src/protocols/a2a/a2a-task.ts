/** A Baton run seen as an A2A task (state, status message, output artifact, history), and an A2A message seen as a run's input. */

import { type Artifact, type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import { ContentTypeNotSupportedError, RequestMalformedError } from '@a2a-js/sdk/errors';
import type { PendingRequest, RunRecord } from '../../index.js';

/** What a task is made of: its run, the waits a person can answer (suspended runs), and the messages the client sent. */
export interface TaskView {
  run: RunRecord;
  /** Unanswered waits of a suspended run (`listPending`), empty otherwise. */
  pending: PendingRequest[];
  /** The client's messages to this task, oldest first. */
  messages: Message[];
}

/** The task states that end a task. */
export const finalStates: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

/**
 * The A2A state of a run: `running` is working; a suspended run with an unanswered wait a person
 * can answer (a human member, an approval, a `waitFor` signal) is input-required, and any other
 * suspended run (a timer, an answer already stored, a child run) is working; `budget-exceeded`
 * is failed.
 */
export function stateOf(view: Pick<TaskView, 'run' | 'pending'>): TaskState {
  switch (view.run.status) {
    case 'running':
      return TaskState.TASK_STATE_WORKING;
    case 'suspended':
      return view.pending.some((request) => !request.answered)
        ? TaskState.TASK_STATE_INPUT_REQUIRED
        : TaskState.TASK_STATE_WORKING;
    case 'completed':
      return TaskState.TASK_STATE_COMPLETED;
    case 'cancelled':
      return TaskState.TASK_STATE_CANCELED;
    default:
      return TaskState.TASK_STATE_FAILED;
  }
}

/** A string that changes whenever the task's state or its open questions change (what a stream reports). */
export function signatureOf(view: Pick<TaskView, 'run' | 'pending'>): string {
  const open = view.pending
    .filter((request) => !request.answered)
    .map((request) => request.key ?? request.signal);
  return `${stateOf(view)}|${open.join(',')}`;
}

/** The unanswered requests of a view, oldest first. */
export function openRequests(view: Pick<TaskView, 'pending'>): PendingRequest[] {
  return view.pending.filter((request) => !request.answered);
}

/** The task for `view`, with at most `historyLength` messages of history (all when undefined). */
export function taskOf(view: TaskView, historyLength?: number): Task {
  const { run } = view;
  const state = stateOf(view);
  const status = statusOf(view, state);
  const history =
    historyLength === undefined
      ? view.messages
      : historyLength <= 0
        ? []
        : view.messages.slice(-historyLength);
  return {
    id: run.id,
    contextId: contextOf(run),
    status,
    artifacts:
      state === TaskState.TASK_STATE_COMPLETED || run.status === 'budget-exceeded'
        ? outputArtifacts(run)
        : [],
    history,
    metadata: { target: run.target, status: run.status },
  };
}

/** The status of a task in `state`, with the agent's message for it (the question, the answer, the error). */
export function statusOf(view: TaskView, state: TaskState = stateOf(view)): Task['status'] {
  return {
    state,
    message: statusMessage(view, state),
    timestamp: new Date(view.run.updatedAt).toISOString(),
  };
}

/** A run's A2A context: its thread, else the run id. */
export function contextOf(run: RunRecord): string {
  return run.threadId ?? run.id;
}

/** The run's output as the task's one artifact (`output`): text for a string, data for anything else. */
export function outputArtifacts(run: RunRecord): Artifact[] {
  const parts = partsOf(run.output);
  if (parts.length === 0) return [];
  return [
    {
      artifactId: 'output',
      name: 'output',
      description: `The output of ${run.target}`,
      parts,
      metadata: undefined,
      extensions: [],
    },
  ];
}

/** A value as message parts: a string as one text part, `undefined` as none, anything else as one data part. */
export function partsOf(value: unknown): Part[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [textPart(value)];
  return [
    { content: { $case: 'data', value }, metadata: undefined, filename: '', mediaType: 'application/json' },
  ];
}

/** A text part. */
export function textPart(text: string): Part {
  return {
    content: { $case: 'text', value: text },
    metadata: undefined,
    filename: '',
    mediaType: 'text/plain',
  };
}

/** An agent message of the task. */
export function agentMessage(run: RunRecord, id: string, parts: Part[]): Message {
  return {
    messageId: `${run.id}:${id}`,
    contextId: contextOf(run),
    taskId: run.id,
    role: Role.ROLE_AGENT,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

function statusMessage(view: TaskView, state: TaskState): Message | undefined {
  const { run } = view;
  switch (state) {
    case TaskState.TASK_STATE_INPUT_REQUIRED: {
      const open = openRequests(view);
      const questions = open.map(questionOf).join('\n\n');
      const requests = open.map(({ kind, signal, prompt, tool, agent, input, schema, member }) => ({
        kind,
        signal,
        ...(member === undefined ? {} : { member }),
        ...(prompt === undefined ? {} : { prompt }),
        ...(agent === undefined ? {} : { agent }),
        ...(tool === undefined ? {} : { tool }),
        ...(input === undefined ? {} : { input }),
        ...(schema === undefined ? {} : { schema }),
      }));
      return agentMessage(run, `ask:${open.map((request) => request.key ?? request.signal).join(',')}`, [
        textPart(questions),
        {
          content: { $case: 'data', value: { requests } },
          metadata: undefined,
          filename: '',
          mediaType: 'application/json',
        },
      ]);
    }
    case TaskState.TASK_STATE_COMPLETED:
      return agentMessage(run, 'output', partsOf(run.output));
    case TaskState.TASK_STATE_FAILED:
      return agentMessage(run, 'error', [
        textPart(
          run.status === 'budget-exceeded'
            ? `The run stopped at its budget: ${run.error?.message ?? 'budget exceeded'}`
            : (run.error?.message ?? 'The run failed.'),
        ),
      ]);
    case TaskState.TASK_STATE_CANCELED:
      return agentMessage(run, 'cancelled', [textPart('The run was cancelled.')]);
    default:
      return undefined;
  }
}

/** What a person is asked, as one paragraph of text. */
export function questionOf(request: PendingRequest): string {
  if (request.kind === 'human') {
    const input = typeof request.input === 'string' ? request.input : JSON.stringify(request.input);
    return request.prompt === undefined ? input : `${request.prompt}\n\n${input}`;
  }
  if (request.kind === 'approval') {
    return (
      `${request.agent ?? 'An agent'} asks to call the tool ${request.tool ?? '?'} with ${JSON.stringify(request.input)}. ` +
      'Reply "approve", or "reject: <reason>".'
    );
  }
  return request.schema === undefined
    ? `The run waits for the signal "${request.signal}": reply with its payload (text, or a data part).`
    : `The run waits for the signal "${request.signal}": reply with a data part matching ${JSON.stringify(request.schema)}.`;
}

/**
 * A message's content as a run's input: its one data part's value, or its text parts joined by
 * new lines (with any data parts after them as JSON). Files are refused.
 */
export function inputOf(message: Message): unknown {
  const texts: string[] = [];
  const data: unknown[] = [];
  for (const part of message.parts) {
    const content = part.content;
    if (content?.$case === 'text') texts.push(content.value);
    else if (content?.$case === 'data') data.push(content.value);
    else
      throw new ContentTypeNotSupportedError(
        `This agent takes text and data parts; got a ${content?.$case ?? 'empty'} part${part.mediaType === '' ? '' : ` (${part.mediaType})`}.`,
      );
  }
  if (texts.length === 0 && data.length === 0) throw new RequestMalformedError('The message has no parts.');
  if (texts.length === 0) return data.length === 1 ? data[0] : data;
  return [...texts, ...data.map((value) => JSON.stringify(value))].join('\n');
}

/** The text of a message's text parts, joined by new lines. */
export function textOfMessage(message: Message): string {
  return message.parts
    .map((part) => (part.content?.$case === 'text' ? part.content.value : undefined))
    .filter((text): text is string => text !== undefined)
    .join('\n');
}
