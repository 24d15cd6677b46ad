/** The package's public surface, entry by entry: adding or removing an export is a decision, so it changes this list on purpose. */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const repository = resolve(import.meta.dirname, '..');

/** Every value each subpath of package.json "exports" gives, sorted (types are checked by the type tests). */
const expected: Record<string, string[]> = {
  '.': [
    'BatonError',
    'BudgetExceededError',
    'ConfigError',
    'ContextOverflowError',
    'GuardrailTrippedError',
    'LoopDetectedError',
    'ModelBehaviorError',
    'ModelCallError',
    'NonDeterminismError',
    'RunCancelledError',
    'RunLeasedError',
    'RunNotFoundError',
    'ToolError',
    'VersionMismatchError',
    'WaitTimeoutError',
    'adaptive',
    'agent',
    'allOf',
    'anyOf',
    'appendThread',
    'approvalSignal',
    'approvedBy',
    'argumentsHash',
    'auditKeyStream',
    'blackboard',
    'breakerState',
    'checkSignalPayload',
    'classifyError',
    'clearThread',
    'concurrent',
    'configureResilience',
    'contextWindowOf',
    'costOf',
    'countPromptTokens',
    'countTokens',
    'createAuditWriter',
    'createContextWindows',
    'createInMemoryIndex',
    'createMemory',
    'createMemoryResponseCache',
    'createMemoryStore',
    'createModelProviders',
    'createPriceTable',
    'createResilience',
    'createRuntime',
    'createStoreMemoryIndex',
    'createStoreResponseCache',
    'createTokenizers',
    'createToolRouter',
    'createTopicBus',
    'defaultAdaptivePolicy',
    'detectInjection',
    'estimatePromptTokens',
    'eventDriven',
    'evolving',
    'findInjectionMarkers',
    'findPii',
    'findRepeatedText',
    'findSecrets',
    'fromAiSdkTool',
    'graphFeatures',
    'groupChat',
    'guardrail',
    'handoff',
    'handoffFilters',
    'human',
    'isInterruption',
    'latencyStats',
    'listPending',
    'listThreadRuns',
    'loadThreadMessages',
    'loop',
    'magentic',
    'makerChecker',
    'maxRounds',
    'memoryTools',
    'modelJudge',
    'neutralizeInjection',
    'parseTaskGraph',
    'pendingRequests',
    'permissionDenial',
    'policyStats',
    'priceOf',
    'readAudit',
    'readThread',
    'readTopic',
    'redactPii',
    'redactSecrets',
    'registerContextWindow',
    'registerModelProvider',
    'registerPrices',
    'registerTokenizer',
    'resetResilience',
    'responseCacheKey',
    'runAgent',
    'runStats',
    'runnableTool',
    'saveThreadMessages',
    'sequential',
    'supervisor',
    'terminateWhen',
    'textMention',
    'timeLimit',
    'tokenBudget',
    'tool',
    'transfer',
    'userMessage',
    'verifyAudit',
    'waitsStream',
    'withThread',
    'workflow',
  ],
  './sqlite': ['createSqliteMemoryIndex', 'createSqliteStore', 'memoryFormatVersion'],
  './postgres': ['createPostgresMemoryIndex', 'createPostgresStore', 'postgresSchemaVersion'],
  './testing/store-conformance': [
    'T',
    'describeStoreConformance',
    'expectBatonError',
    'sampleEntry',
    'sampleRun',
  ],
  './testing': [
    'assertProviderPrompt',
    'createFakeClock',
    'createStubServer',
    'loadScript',
    'providerPromptProblem',
    'scriptedModel',
    'waitForStatus',
    'waitUntil',
  ],
  './team': [
    'TeamFileError',
    'allowModulesVariable',
    'allowedFoldersFromEnv',
    'closestName',
    'didYouMean',
    'formatProblem',
    'formatTeamJsonSchema',
    'importModule',
    'isInsideFolders',
    'loadTeamFile',
    'moduleExtensions',
    'parseDuration',
    'teamFileSchema',
    'teamJsonSchema',
    'teamPatterns',
  ],
  './mcp': ['mcpCapabilities', 'mcpTools'],
  './redis': [
    'callWithSharedLimits',
    'createBullmqDispatcher',
    'createRedisEventBus',
    'createRedisLimits',
    'createRedisTopics',
    'createWorker',
    'redisEventFeed',
  ],
};

describe('package exports', () => {
  it('exports exactly the listed values from every entry of package.json', async () => {
    const manifest = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { import?: string }>;
    };
    const entries = Object.entries(manifest.exports).filter(([subpath]) => subpath !== './package.json');
    expect(entries.map(([subpath]) => subpath).sort()).toEqual(Object.keys(expected).sort());
    for (const [subpath, target] of entries) {
      const file = typeof target === 'string' ? target : target.import;
      if (file === undefined) throw new Error(`package.json exports "${subpath}" has no import target`);
      // The built entry (npm test builds first), as a user's import resolves it.
      const module = (await import(pathToFileURL(join(repository, file)).href)) as Record<string, unknown>;
      expect(Object.keys(module).sort(), `exports of "${subpath}"`).toEqual(expected[subpath]);
    }
  });

  it('exports exactly the listed values from the source root, so a change shows without a build', async () => {
    const root = (await import('../src/index.js')) as Record<string, unknown>;
    expect(Object.keys(root).sort()).toEqual(expected['.']);
  });
});
