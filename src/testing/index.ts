/** `batonjs/testing`: the public test kit — scripted model, stub OpenAI-compatible server, fake clock, polling helpers. */

export { createFakeClock, type FakeClock } from './fake-clock.js';
export { loadScript } from './load-script.js';
export { assertProviderPrompt, providerPromptProblem } from './prompt-shape.js';
export { type ReplayRunsOptions, replayRuns } from './replay-runs.js';
export {
  type ModelScript,
  type ScriptedModel,
  type ScriptedModelOptions,
  type ScriptedRequest,
  type ScriptedToolCall,
  type ScriptedTurn,
  scriptedModel,
} from './scripted-model.js';
export {
  createStubServer,
  type StubChatMessage,
  type StubChatRequest,
  type StubCompletion,
  type StubFault,
  type StubHandler,
  type StubReply,
  type StubRequest,
  type StubServer,
  type StubServerOptions,
  type StubToolCall,
} from './stub-server.js';
export { type WaitUntilOptions, waitForStatus, waitUntil } from './wait-until.js';
// The Store conformance suite (`describeStoreConformance`) will be exported from here too.
