/** batonjs/server: the HTTP API (Hono) over a runtime, and the API keys it checks. */

export type { A2aServerOptions } from './a2a-routes.js';
export {
  type ApiKeyInfo,
  type ApiKeyScope,
  type ApiKeyVerifier,
  apiKeyScopes,
  apiKeyStream,
  type CreateApiKeyOptions,
  createApiKey,
  createApiKeyVerifier,
  listApiKeys,
  revokeApiKey,
} from './api-keys.js';
export { createServer, type ServedTarget, type ServerOptions } from './create-server.js';
export type { DashboardOptions } from './dashboard.js';
export { type ErrorBody, HttpError, type RequestIssue } from './http-error.js';
export { type Listening, listen } from './listen.js';
export type { McpEndpointFactory, McpHttpEndpoint, McpRequestAccess } from './mcp-route.js';
