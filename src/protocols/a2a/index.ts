/** `batonjs/a2a`: Baton targets as A2A agents (`createA2aHandler`, mounted by `createServer`), and A2A agents as members and tools (`remoteAgent`). Needs the optional peer `@a2a-js/sdk`. */

export type { A2aKey } from './a2a-access.js';
export {
  type A2aHandler,
  type A2aHandlerOptions,
  type A2aKeyVerifier,
  createA2aHandler,
} from './a2a-handler.js';
export { type RemoteAgent, type RemoteAgentOptions, remoteAgent } from './remote-agent.js';
export { classifyRemote, RemoteAgentError, type RemoteAgentErrorCode } from './remote-call.js';
