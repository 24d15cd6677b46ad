/** `batonjs/mcp`: MCP servers as tool sources for agents, and Baton as an MCP server (needs the optional peer `@modelcontextprotocol/sdk`). */

export { type McpToolAnnotations, mcpCapabilities } from './mcp-capabilities.js';
export type { McpPrompt, McpPromptMessages } from './mcp-prompts.js';
export type {
  McpResource,
  McpResourceContent,
  McpResourceTemplate,
  McpResourceToolsOptions,
} from './mcp-resources.js';
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
export {
  type BatonMcpServer,
  createMcpServer,
  type McpAccess,
  type McpServedTarget,
  type McpServerOptions,
} from './serve/create-mcp-server.js';
