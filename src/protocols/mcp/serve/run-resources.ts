/** Runs as MCP resources: `baton://runs/{runId}` (a template), the newest runs listed with cursor paging, and a run read as status, output and a summary of its journal. */

import type { Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JournalEntry, PendingRequest, RunFilter, RunRecord, Store } from '../../../index.js';
import { runUri } from './run-result.js';

/** The resource template of runs. */
export const runTemplate: ResourceTemplate = {
  uriTemplate: 'baton://runs/{runId}',
  name: 'run',
  title: 'A Baton run',
  description:
    "A run of this server's store: target, status, input, output or error, what it waits for, usage and cost, and its steps (name, kind, status, duration).",
  mimeType: 'application/json',
};

/** Most steps a run's resource lists (the newest ones; `stepsOmitted` counts the others). */
const maxSteps = 500;

/** The run id of a `baton://runs/{runId}` URI, or undefined for any other URI. */
export function runIdOf(uri: string): string | undefined {
  const match = /^baton:\/\/runs\/([^/?#]+)$/.exec(uri);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return undefined;
  }
}

/** The MCP error of a resource that does not exist (or is out of the caller's reach). */
export function resourceNotFound(uri: string, why: string): McpError {
  return new McpError(-32002, `Resource not found: ${uri}: ${why}`, { uri });
}

/**
 * One page of the newest runs as resources, after `cursor`. With `targets`, only runs of those
 * targets (each queried, then merged newest first).
 */
export async function listRunResources(
  store: Store,
  options: { limit: number; cursor: string | undefined; targets: readonly string[] | undefined },
): Promise<{ resources: Resource[]; nextCursor?: string }> {
  const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const filters: Omit<RunFilter, 'createdBefore' | 'limit'>[] =
    options.targets === undefined ? [{}] : options.targets.map((target) => ({ target }));
  const runs: RunRecord[] = [];
  for (const filter of filters) runs.push(...(await pageAfter(store, filter, options.limit + 1, cursor)));
  runs.sort(newestFirst);
  const page = runs.slice(0, options.limit);
  const last = page.at(-1);
  return {
    resources: page.map(runResource),
    ...(runs.length > options.limit && last !== undefined ? { nextCursor: encodeCursor(last) } : {}),
  };
}

/** A run as a resource of the list. */
function runResource(run: RunRecord): Resource {
  return {
    uri: runUri(run.id),
    name: run.id,
    title: `${run.target}: ${run.status}`,
    description: `Run of ${run.target} v${run.targetVersion}, started ${new Date(run.createdAt).toISOString()}, ${run.status}.`,
    mimeType: 'application/json',
  };
}

/**
 * What reading a run's resource gives: the run without its lease fields, what it waits for, and
 * its journal as steps without their results (the newest `maxSteps`). Pass the run with its input
 * as the guardrails left it (`withGuardedInput`): the document carries `run.input` as given.
 */
export function runDocument(
  run: RunRecord,
  journal: readonly JournalEntry[],
  pending: readonly PendingRequest[],
): Record<string, unknown> {
  const steps = journal.slice(-maxSteps).map((entry, index) => {
    const step: Record<string, unknown> = {
      position: journal.length - Math.min(journal.length, maxSteps) + index + 1,
      name: entry.name,
      kind: entry.kind,
      status: entry.status,
      durationMs: entry.endedAt - entry.startedAt,
    };
    for (const field of ['agent', 'tool', 'model'] as const)
      if (typeof entry.meta?.[field] === 'string') step[field] = entry.meta[field];
    if (entry.error !== undefined)
      step.error = {
        message: entry.error.message,
        ...(entry.error.code === undefined ? {} : { code: entry.error.code }),
      };
    return step;
  });
  const document: Record<string, unknown> = {
    id: run.id,
    target: run.target,
    targetVersion: run.targetVersion,
    status: run.status,
    input: run.input,
  };
  if (run.status === 'completed' || run.status === 'budget-exceeded') document.output = run.output;
  if (run.error !== undefined)
    document.error = {
      message: run.error.message,
      ...(run.error.code === undefined ? {} : { code: run.error.code }),
    };
  const waits = pending.filter((request) => !request.answered);
  if (run.status === 'suspended')
    document.waitingFor = waits.map((wait) => ({
      kind: wait.kind,
      signal: wait.signal,
      ...(wait.member === undefined ? {} : { member: wait.member }),
      ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
      ...(wait.tool === undefined ? {} : { tool: wait.tool, toolCallId: wait.toolCallId, input: wait.input }),
      ...(wait.schema === undefined ? {} : { schema: wait.schema }),
    }));
  if (run.wakeAt !== undefined) document.wakeAt = new Date(run.wakeAt).toISOString();
  if (run.source !== undefined) document.source = run.source;
  if (run.threadId !== undefined) document.threadId = run.threadId;
  Object.assign(document, {
    usage: run.usage,
    costUsd: run.costUsd,
    createdAt: new Date(run.createdAt).toISOString(),
    updatedAt: new Date(run.updatedAt).toISOString(),
    ...(run.endedAt === undefined ? {} : { endedAt: new Date(run.endedAt).toISOString() }),
    stepCount: journal.length,
    ...(journal.length > maxSteps ? { stepsOmitted: journal.length - maxSteps } : {}),
    steps,
  });
  return document;
}

interface Cursor {
  createdAt: number;
  id: string;
}

/** Up to `limit` runs matching `filter` after the cursor, newest first (the store pages on a strict `createdBefore`). */
async function pageAfter(
  store: Store,
  filter: Omit<RunFilter, 'createdBefore' | 'limit'>,
  limit: number,
  cursor: Cursor | undefined,
): Promise<RunRecord[]> {
  let fetch = limit;
  for (;;) {
    const fetched = await store.listRuns({
      ...filter,
      limit: fetch,
      ...(cursor === undefined ? {} : { createdBefore: cursor.createdAt + 1 }),
    });
    const after = cursor === undefined ? fetched : fetched.filter((run) => newestFirst(run, cursor) > 0);
    if (after.length >= limit || fetched.length < fetch) return after.slice(0, limit);
    fetch *= 2;
  }
}

/** Negative when `left` is newer (sorts first). */
function newestFirst(left: Cursor, right: Cursor): number {
  if (left.createdAt !== right.createdAt) return right.createdAt - left.createdAt;
  return left.id < right.id ? 1 : left.id > right.id ? -1 : 0;
}

function encodeCursor(run: RunRecord): string {
  return Buffer.from(JSON.stringify([run.createdAt, run.id])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === 'string')
      return { createdAt: value[0] as number, id: value[1] };
  } catch {
    // Falls through to the error below.
  }
  throw new McpError(ErrorCode.InvalidParams, 'cursor: not a nextCursor this server returned.');
}
