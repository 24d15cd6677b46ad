/** `batonjs/mcp`: MCP servers as tool sources for agents (needs the optional peer `@modelcontextprotocol/sdk`). */

export { type McpToolAnnotations, mcpCapabilities } from './mcp-capabilities.js';
export {
  type McpHttpServer,
  type McpReconnectOptions,
  type McpServer,
  type McpStdioServer,
  type McpToolFilter,
  type McpToolSet,
  type McpToolsOptions,
  mcpTools,
} from './mcp-tools.js';
