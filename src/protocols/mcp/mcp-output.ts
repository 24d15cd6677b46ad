/** Turns the result of an MCP `tools/call` into what a Baton tool returns (or a ToolError). */

import { type ErrorClass, ToolError } from '../../core/errors.js';
import type { ToolContext } from '../../tools/tool.js';

/** The parts of an MCP `CallToolResult` Baton reads. */
export interface McpCallResult {
  content?: readonly { type: string; text?: string; [key: string]: unknown }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/**
 * The tool's output: its structured content when it has some, else its text parts joined, else
 * the content blocks as they are. A result flagged `isError` throws a `ToolError`
 * (`MCP_TOOL_ERROR`) carrying the server's text, which the model sees.
 */
export function mcpOutput(
  result: McpCallResult,
  where: () => string,
  tool: string,
  context: ToolContext,
): unknown {
  const content = result.content ?? [];
  const texts = content.filter((part) => part.type === 'text').map((part) => part.text ?? '');
  if (result.isError === true) {
    // The tool ran and said no: the model sees why and can reformulate.
    throw Object.assign(
      new ToolError(`${where()} reported an error: ${texts.join('\n') || 'no details'}`, {
        tool,
        agent: context.agent,
        code: 'MCP_TOOL_ERROR',
        runId: context.runId,
      }),
      { errorClass: 'recoverable' satisfies ErrorClass },
    );
  }
  if (result.structuredContent !== undefined) return result.structuredContent;
  if (texts.length === content.length) return texts.join('\n');
  return content;
}
