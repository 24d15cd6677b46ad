/** The errors of MCP tool sources, and how a failed request tells whether the connection is gone. */

import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { type ErrorClass, errorMessage, ToolError } from '../../core/errors.js';

/** Where a failing call was made: the Baton tool, and the agent and run when known. */
export interface McpCallSite {
  tool: string;
  agent?: string | undefined;
  runId?: string | undefined;
}

/** What a reconnect tried before it gave up. */
export interface McpReconnectReport {
  /** Why the previous connection was dropped. */
  reason: string;
  /** One message per failed attempt, in order. */
  failures: readonly string[];
  elapsedMs: number;
}

/** A reconnect that ran out of attempts; the connection turns it into a `ToolError` per caller. */
export class McpReconnectFailure extends Error {
  readonly report: McpReconnectReport;
  constructor(report: McpReconnectReport) {
    super(`reconnect failed after ${report.failures.length} attempts`);
    this.name = 'McpReconnectFailure';
    this.report = report;
  }
}

/** Marks the route the resilience policies take for an error (see `classifyError`). */
export function classified(error: ToolError, errorClass: ErrorClass): ToolError {
  return Object.assign(error, { errorClass });
}

/** The connection dropped while a call was in flight: the server may or may not have run it. */
export function disconnectedError(
  label: string,
  site: McpCallSite,
  reason: string,
  cause: unknown,
): ToolError {
  return classified(
    new ToolError(
      `The connection to MCP server "${label}" was lost during a call of tool ${site.tool} (${reason}). The server may or may not have run it; the next call reconnects, and the resilience policies retry it when the tool is idempotent (idempotentHint).`,
      { ...toolErrorFields(site), code: 'MCP_DISCONNECTED', cause },
    ),
    'transient',
  );
}

/** Every reconnect attempt failed: the server is down or unreachable. */
export function unreachableError(label: string, site: McpCallSite, failure: McpReconnectFailure): ToolError {
  const { reason, failures, elapsedMs } = failure.report;
  const attempts = failures.map((message, index) => `${index + 1}: ${message}`).join('; ');
  return classified(
    new ToolError(
      `MCP server "${label}" is unreachable, so tool ${site.tool} cannot run: the connection was lost (${reason}) and ${failures.length} reconnect attempt${failures.length === 1 ? '' : 's'} over ${elapsedMs} ms failed (${attempts}). Check that the server runs and is reachable; each later call tries to reconnect again.`,
      { ...toolErrorFields(site), code: 'MCP_UNREACHABLE', cause: failure },
    ),
    'transient',
  );
}

/** The connection is lost and the source was created with `reconnect: false`. */
export function notReconnectingError(label: string, site: McpCallSite, reason: string): ToolError {
  return classified(
    new ToolError(
      `MCP server "${label}" is no longer connected (${reason}) and reconnect is off, so tool ${site.tool} cannot run. Create a new source with mcpTools(), or leave reconnect on.`,
      { ...toolErrorFields(site), code: 'MCP_DISCONNECTED', cause: undefined },
    ),
    'recoverable',
  );
}

/** The program closed the tool source while an agent still used its tools. */
export function closedError(label: string, site: McpCallSite): ToolError {
  return classified(
    new ToolError(
      `MCP server "${label}" was closed with close(); tool ${site.tool} cannot run. Keep the tool source open while agents use its tools.`,
      { ...toolErrorFields(site), code: 'MCP_CLOSED', fault: 'user' },
    ),
    'recoverable',
  );
}

/**
 * Any other failure of a request (`what`: `tool add`, `request resources/read of …`): transient on
 * a request timeout, else classified by its cause.
 */
export function callFailedError(label: string, what: string, site: McpCallSite, cause: unknown): ToolError {
  const failure = new ToolError(`MCP ${what} on "${label}" failed: ${errorMessage(cause)}`, {
    ...toolErrorFields(site),
    code: 'MCP_CALL_FAILED',
    cause,
  });
  return (cause as { code?: unknown })?.code === ErrorCode.RequestTimeout
    ? classified(failure, 'transient')
    : failure;
}

/**
 * True when the request cannot have reached the server, so sending it again on a new connection
 * is safe for any tool: the HTTP session is unknown (404, or 400 naming the session), the
 * connection was refused, or the client had no connection.
 */
export function isUndelivered(error: unknown): boolean {
  if (error instanceof StreamableHTTPError)
    return error.code === 404 || (error.code === 400 && /session/i.test(error.message));
  if (causeCode(error) === 'ECONNREFUSED') return true;
  return error instanceof Error && error.message === 'Not connected';
}

/** True when the request failed because the connection is gone (it may have reached the server). */
export function isConnectionLost(error: unknown): boolean {
  if ((error as { code?: unknown })?.code === ErrorCode.ConnectionClosed) return true;
  const code = causeCode(error);
  if (code !== undefined && /^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET)$/.test(code)) return true;
  return /connection closed|not connected|fetch failed|terminated|socket hang up/i.test(errorMessage(error));
}

/** The message with those of its causes (`fetch failed: connect ECONNREFUSED 127.0.0.1:3000`). */
export function describeError(error: unknown): string {
  const parts = [errorMessage(error)];
  let current = (error as { cause?: unknown })?.cause;
  for (let depth = 0; depth < 3 && current !== undefined && current !== null; depth += 1) {
    const message = errorMessage(current);
    if (message !== '' && !parts.includes(message)) parts.push(message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

function toolErrorFields(site: McpCallSite) {
  return {
    tool: site.tool,
    ...(site.agent === undefined ? {} : { agent: site.agent }),
    ...(site.runId === undefined ? {} : { runId: site.runId }),
  };
}

/** The string `code` of the error or one of its causes (fetch hides ECONNREFUSED in `cause`). */
function causeCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
