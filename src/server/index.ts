/** batonjs/server: the HTTP API (Hono) over a runtime, the API keys it checks, and webhooks. */

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
export {
  type AttemptRecord,
  listWebhookDeliveries,
  type WebhookDelivery,
  webhookDeliveryStream,
} from './webhook-deliveries.js';
export {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from './webhook-dispatcher.js';
export type { WebhookEvent, WebhookPendingRequest } from './webhook-events.js';
export {
  signWebhook,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
  webhookHeaders,
} from './webhook-signature.js';
export {
  type CreateWebhookOptions,
  createWebhook,
  listWebhooks,
  revokeWebhook,
  type WebhookEventType,
  type WebhookInfo,
  type WebhookProblem,
  webhookEventTypes,
  webhookProblems,
  webhookStream,
} from './webhooks.js';
