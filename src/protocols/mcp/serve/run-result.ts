/** The MCP tool result of a run that ended or suspended: its output, its failure, or what it waits for and how to continue it. */

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { PendingRequest, RunRecord } from '../../../index.js';

/** The URI of a run's resource. */
export function runUri(runId: string): string {
  return `baton://runs/${encodeURIComponent(runId)}`;
}

/**
 * The result of a call whose run ended or suspended. A completed run gives its output as text
 * (and as `structuredContent` when it is an object); a failed, cancelled or over-budget run is an
 * error result naming the run; a suspended run says what it waits for and how to continue it,
 * without being an error. Every result links the run's resource and carries its id in `_meta`.
 */
export function runResult(
  record: RunRecord,
  pending: readonly PendingRequest[],
  options: { signalTool: string | undefined },
): CallToolResult {
  const link = {
    type: 'resource_link' as const,
    uri: runUri(record.id),
    name: record.id,
    title: `Baton run ${record.id} (${record.target})`,
    mimeType: 'application/json',
  };
  const meta = { 'baton/runId': record.id, 'baton/status': record.status };
  if (record.status === 'completed') {
    const output = record.output;
    const structured = isPlainObject(output) ? { structuredContent: output } : {};
    return { content: [{ type: 'text', text: textOf(output) }, link], ...structured, _meta: meta };
  }
  if (record.status === 'suspended') {
    const waits = pending.filter((request) => !request.answered);
    return {
      content: [{ type: 'text', text: suspendedText(record, waits, options.signalTool) }, link],
      structuredContent: {
        runId: record.id,
        status: 'suspended',
        waitingFor: waits.map(waitView),
        ...(record.wakeAt === undefined ? {} : { wakeAt: new Date(record.wakeAt).toISOString() }),
      },
      _meta: meta,
    };
  }
  const error = record.error;
  const what =
    record.status === 'budget-exceeded'
      ? 'stopped at its budget'
      : record.status === 'cancelled'
        ? 'was cancelled'
        : 'failed';
  const text = `Baton run ${record.id} of "${record.target}" ${what}: ${error?.message ?? 'no details'}${error?.code === undefined ? '' : ` (${error.code})`}. Inspect it with baton show ${record.id}, or read ${runUri(record.id)}.`;
  return { content: [{ type: 'text', text }, link], isError: true, _meta: meta };
}

/** A tool error result (bad arguments, a refused signal) that names what was wrong. */
export function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function suspendedText(
  record: RunRecord,
  waits: readonly PendingRequest[],
  signalTool: string | undefined,
): string {
  const lines = [`Baton run ${record.id} of "${record.target}" is waiting and has not finished.`];
  const via = (signal: string, payload: string) =>
    signalTool === undefined
      ? ''
      : ` Call the tool ${signalTool} with { "runId": "${record.id}", "signal": "${signal}", "payload": ${payload} }, or run`;
  for (const wait of waits) {
    if (wait.kind === 'human') {
      const member = wait.member ?? wait.signal.slice('human:'.length);
      lines.push(
        `- It asks ${member}${wait.prompt === undefined ? '' : `: ${wait.prompt}`}${wait.input === undefined ? '' : `\n  Their input: ${clip(textOf(wait.input), 2000)}`}`,
        `  To answer:${via(wait.signal, '"<the answer>"')} baton reply ${record.id} ${member} "<the answer>".`,
      );
    } else if (wait.kind === 'approval') {
      lines.push(
        `- Tool call ${wait.tool ?? '?'} of agent ${wait.agent ?? '?'} needs approval; arguments: ${clip(JSON.stringify(wait.input ?? null), 2000)}`,
        `  To decide:${via(wait.signal, '{ "approved": true } (or { "approved": false, "reason": "why" })')} baton approve ${record.id} --call ${wait.toolCallId ?? '<id>'} (add --reject "why" to refuse).`,
      );
    } else {
      const schema =
        wait.schema === undefined ? '' : ` Its payload must match: ${JSON.stringify(wait.schema)}.`;
      lines.push(
        `- It waits for the signal "${wait.signal}".${schema}`,
        `  To send it:${via(wait.signal, '<the payload as JSON>')} baton signal ${record.id} ${wait.signal} '<payload JSON>'.`,
      );
    }
    if (wait.deadline !== undefined)
      lines.push(`  The wait times out at ${new Date(wait.deadline).toISOString()}.`);
  }
  if (waits.length === 0 && record.wakeAt !== undefined) {
    lines.push(
      `It sleeps until ${new Date(record.wakeAt).toISOString()} and then continues by itself while a Baton process with recovery serves its store (this server, baton serve), or with baton resume ${record.id}.`,
    );
  } else if (waits.length === 0) {
    lines.push(`Continue it with baton resume ${record.id}.`);
  }
  lines.push(`Follow it by reading ${runUri(record.id)}.`);
  return lines.join('\n');
}

function waitView(wait: PendingRequest): Record<string, unknown> {
  const view: Record<string, unknown> = { kind: wait.kind, signal: wait.signal };
  for (const key of ['member', 'prompt', 'tool', 'agent', 'toolCallId', 'input', 'schema'] as const)
    if (wait[key] !== undefined) view[key] = wait[key];
  if (wait.deadline !== undefined) view.deadline = new Date(wait.deadline).toISOString();
  return view;
}

/** Text for a value: a string as it is, anything else as JSON. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2) ?? String(value);
}

function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length)}… (${text.length - length} more characters)`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
