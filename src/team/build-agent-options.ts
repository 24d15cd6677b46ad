/** Converts an agent's context, approvals, memory, cache, tool routing and loop detection from YAML to `agent()` options. */

import {
  type AgentOptions,
  type AnyTool,
  type ApprovalPolicy,
  type ApprovalPredicate,
  type ApprovalRule,
  type ContextOptions,
  createStoreResponseCache,
  type Memory,
  type MemoryToolScope,
  type ModelSpec,
  memoryTools,
  type ResponseCacheOptions,
  type ResponseCacheStore,
  type Store,
} from '../index.js';
import { compact, milliseconds } from './build-parts.js';
import type { TeamFileAgent } from './team-file-schema.js';
import { teamMemory } from './team-memory.js';

/** What the options need from the loaded team: module exports, inline models, and one memory and cache per team. */
export interface AgentOptionParts {
  /** Values of the "./file.ts#export" references in the file. */
  exports: ReadonlyMap<string, unknown>;
  inlineModel: (spec: string) => ModelSpec;
  /** The team's memory, made on first use. */
  memory: () => Memory;
  /** The team's response cache store (the runtime's store when given), made on first use; undefined: the process LRU. */
  responseCache: () => ResponseCacheStore | undefined;
}

/**
 * The resources the agents of one loaded team share, made on first use.
 *
 * @example
 * ```ts
 * const { memory, responseCache } = sharedResources(options.store);
 * ```
 */
export function sharedResources(
  store: Store | undefined,
): Pick<AgentOptionParts, 'memory' | 'responseCache'> {
  let memory: Memory | undefined;
  let cache: ResponseCacheStore | undefined;
  return {
    memory: () => {
      memory ??= teamMemory(store);
      return memory;
    },
    responseCache: () => {
      if (store === undefined) return undefined;
      cache ??= createStoreResponseCache(store);
      return cache;
    },
  };
}

/** Names of the tools `memory:` adds to an agent. */
export const memoryToolNames = ['remember', 'recall'] as const;

/**
 * The `agent()` options for an agent's context, approvals, memory, cache, toolRouting and
 * loopDetection (only those it sets), plus the memory tools to add to its tools.
 *
 * @example
 * ```ts
 * const { options, tools } = agentOptionsOf(definition, parts);
 * ```
 */
export function agentOptionsOf(
  definition: TeamFileAgent,
  parts: AgentOptionParts,
): { options: Partial<AgentOptions<unknown>>; tools: AnyTool[] } {
  const options: Partial<AgentOptions<unknown>> = {};
  const tools: AnyTool[] = [];
  if (definition.context !== undefined) options.context = contextOf(definition.context, parts);
  if (definition.approvals !== undefined) {
    const rules: Record<string, ApprovalRule> = {};
    for (const [tool, rule] of Object.entries(definition.approvals))
      rules[tool] = typeof rule === 'string' ? approvalWhen(rule, parts) : approvalPolicy(rule, parts);
    options.approvals = rules;
  }
  if (definition.memory !== undefined && definition.memory !== false) {
    const spec = definition.memory === true ? {} : definition.memory;
    const { remember, recall } = memoryTools(
      parts.memory(),
      compact({ scope: spec.scope as MemoryToolScope | undefined, limit: spec.limit }),
    );
    tools.push(remember, recall);
  }
  if (definition.cache !== undefined) {
    if (definition.cache === false) options.cache = false;
    else {
      const cache: ResponseCacheOptions = {};
      const ttl = definition.cache === true ? undefined : definition.cache.ttl;
      if (ttl !== undefined) cache.ttlMs = milliseconds(ttl);
      const store = parts.responseCache();
      if (store !== undefined) cache.store = store;
      options.cache = cache;
    }
  }
  if (definition.toolRouting !== undefined && definition.toolRouting !== false)
    options.toolRouting = definition.toolRouting === true ? {} : compact(definition.toolRouting);
  if (definition.loopDetection !== undefined && definition.loopDetection !== false)
    options.loopDetection = definition.loopDetection === true ? {} : compact(definition.loopDetection);
  return { options, tools };
}

type TeamApprovalRule = NonNullable<TeamFileAgent['approvals']>[string];

/** always, never, or the predicate a "./file.ts#export" reference names. */
function approvalWhen(
  rule: string,
  parts: Pick<AgentOptionParts, 'exports'>,
): 'always' | 'never' | ApprovalPredicate {
  return rule === 'always' || rule === 'never' ? rule : (parts.exports.get(rule) as ApprovalPredicate);
}

/** An `ApprovalPolicy` from its YAML mapping, with durations in milliseconds. */
function approvalPolicy(
  rule: Exclude<TeamApprovalRule, string>,
  parts: Pick<AgentOptionParts, 'exports'>,
): ApprovalPolicy {
  const policy: ApprovalPolicy = {};
  if (rule.when !== undefined) policy.when = approvalWhen(rule.when, parts);
  if (rule.timeout !== undefined) policy.timeout = milliseconds(rule.timeout);
  const onTimeout = rule.onTimeout;
  if (onTimeout !== undefined)
    policy.onTimeout =
      typeof onTimeout === 'string'
        ? onTimeout
        : {
            escalateTo: onTimeout.escalateTo,
            ...(onTimeout.timeout === undefined ? {} : { timeout: milliseconds(onTimeout.timeout) }),
          };
  return policy;
}

function contextOf(
  context: NonNullable<TeamFileAgent['context']>,
  parts: Pick<AgentOptionParts, 'inlineModel'>,
): ContextOptions {
  const { compaction, prune, ...rest } = context;
  const options: ContextOptions = compact(rest);
  if (compaction !== undefined) {
    const { model, ...settings } = compaction;
    options.compaction = {
      ...compact(settings),
      ...(model === undefined ? {} : { model: parts.inlineModel(model) }),
    };
  }
  if (prune !== undefined && prune !== false) options.prune = prune === true ? {} : compact(prune);
  return options;
}
