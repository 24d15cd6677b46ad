/** The audit log: an append-only, hash-chained record per run of model decisions, tool calls, handoffs, approvals and denials. */

import { createHash, hash as sha } from 'node:crypto';
import type { JournalEntry, Store } from '../stores/store.js';
import { approvalDecision } from './approvals.js';

/**
 * The `prev` of a run's first audit entry: 64 zeros.
 *
 * @example
 * ```ts
 * const [first] = await readAudit(store, runId);
 * console.log(first?.prev === auditGenesis); // true
 * ```
 */
export const auditGenesis = '0'.repeat(64);

/**
 * What an audit entry records. `model-decision`: the tools a model called or its final answer;
 * `handoff`: a model handing control to another agent; `tool-call`: a tool's outcome;
 * `child-run`: an agent or workflow run as a tool; `approval-requested`, `approved`,
 * `rejected`, `approval-timeout`; `denial`: a call outside an agent's permissions;
 * `signal`: another durable wait answered (a human member's reply).
 *
 * @example
 * ```ts
 * const interesting: AuditEntryType[] = ['denial', 'rejected'];
 * ```
 */
export type AuditEntryType =
  | 'model-decision'
  | 'model-error'
  | 'handoff'
  | 'tool-call'
  | 'child-run'
  | 'approval-requested'
  | 'approved'
  | 'rejected'
  | 'approval-timeout'
  | 'denial'
  | 'signal';

/**
 * One entry of the stream `audit:<runId>`. `hash` is sha256 over `prev` followed by the
 * canonical JSON (keys sorted, no spaces) of every other field.
 *
 * @example
 * ```ts
 * const entry = (await readAudit(store, runId))[0];
 * console.log(entry?.index, entry?.type, entry?.hash);
 * ```
 */
export interface AuditEntry {
  /** Position in the chain, from 1. */
  index: number;
  runId: string;
  /** The journal key of the step it records (several entries may share one: a decision and its handoff). */
  key: string;
  /** The journal step's name (`model:billing`, `tool:refund`, `approval:refund`, ...). */
  step: string;
  type: AuditEntryType;
  /** When the step ended (ms since the epoch). */
  at: number;
  agent?: string;
  /** Type-specific details: tool calls, answer, tool output, arguments, reason, decider. */
  data: Record<string, unknown>;
  /** The previous entry's hash (`auditGenesis` for the first). */
  prev: string;
  hash: string;
}

/**
 * The record stream of a run's audit log.
 *
 * @example
 * ```ts
 * await store.readRecords(auditStream(runId));
 * ```
 */
export function auditStream(runId: string): string {
  return `audit:${runId}`;
}

/**
 * JSON with object keys sorted at every level and `undefined` properties dropped: the same
 * value always gives the same text, before and after a JSON round trip.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, undefined);
}

/** `canonicalJson`, leaving out the top-level key `skip` (the hash of an entry is over everything but `hash`). */
function canonical(value: unknown, skip: string | undefined): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      text += canonical(value[index] ?? null, undefined);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  let text = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined || key === skip) continue;
    if (text.length > 1) text += ',';
    text += `${JSON.stringify(key)}:${canonical(item, undefined)}`;
  }
  return `${text}}`;
}

/** Own enumerable keys in default sort order, without sorting when they already are (the usual case after a canonical round trip). */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  for (let index = 1; index < keys.length; index++) {
    if ((keys[index - 1] as string) > (keys[index] as string)) return keys.sort();
  }
  return keys;
}

/**
 * The canonical JSON of a value that survives a JSON round trip unchanged (plain objects and
 * arrays, strings, finite numbers, booleans, null; `undefined` only as an object property), or
 * undefined for anything else (a `toJSON`, a class instance, a function, `NaN`, an `undefined`
 * array item, a cycle), which the caller first turns into JSON the slow way.
 */
function plainCanonical(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'object': {
      if (value === null) return 'null';
      if (depth > 200) return undefined;
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index++) {
          const item = value[index] === undefined ? undefined : plainCanonical(value[index], depth + 1);
          if (item === undefined) return undefined;
          text += index === 0 ? item : `,${item}`;
        }
        return `${text}]`;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) return undefined;
      const record = value as Record<string, unknown>;
      if (typeof record.toJSON === 'function') return undefined;
      let text = '{';
      for (const key of sortedKeys(record)) {
        const field = record[key];
        if (field === undefined) continue;
        const item = plainCanonical(field, depth + 1);
        if (item === undefined) return undefined;
        if (text.length > 1) text += ',';
        text += `${JSON.stringify(key)}:${item}`;
      }
      return `${text}}`;
    }
    default:
      return undefined;
  }
}

/**
 * The hash of an audit entry: sha256 (hex) of `prev` + the canonical JSON of the entry without `hash`.
 *
 * @example
 * ```ts
 * const ok = auditHash(entry) === entry.hash;
 * ```
 */
export function auditHash(entry: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  return createHash('sha256').update(entry.prev).update(canonical(entry, 'hash')).digest('hex');
}

type AuditBody = Pick<AuditEntry, 'type' | 'data'> & { agent?: string };

/**
 * The audit entries (without chain fields) a journal entry produces; `[]` for steps the audit
 * log does not record (timers, clock reads, plain workflow steps).
 *
 * @example
 * ```ts
 * auditBodies(entry).map((body) => body.type); // ['model-decision', 'handoff']
 * ```
 */
export function auditBodies(entry: JournalEntry): AuditBody[] {
  const agent = typeof entry.meta?.agent === 'string' ? entry.meta.agent : undefined;
  // Bodies are fresh objects: adding the agent in place saves a copy.
  const withAgent = (body: AuditBody): AuditBody => {
    if (agent !== undefined) body.agent = agent;
    return body;
  };
  const failed = entry.status === 'failed';
  const error = entry.error?.message;
  switch (entry.kind) {
    case 'model': {
      if (failed) return [withAgent({ type: 'model-error', data: { error } })];
      const response = entry.result as {
        text?: string;
        model?: string;
        toolCalls?: Array<{ toolCallId: string; toolName: string; input: string }>;
      };
      const calls = response?.toolCalls ?? [];
      const decision: AuditBody = withAgent({
        type: 'model-decision',
        data:
          calls.length === 0
            ? { decision: 'final-answer', model: response?.model, answer: response?.text ?? '' }
            : {
                decision: 'tool-calls',
                model: response?.model,
                toolCalls: calls.map((call) => ({
                  id: call.toolCallId,
                  tool: call.toolName,
                  input: call.input,
                })),
                ...(response?.text ? { text: response.text } : {}),
              },
      });
      const handoffs = calls
        .filter((call) => call.toolName.startsWith('transfer_to_'))
        .map((call) =>
          withAgent({
            type: 'handoff',
            data: {
              from: agent,
              to: call.toolName.slice('transfer_to_'.length),
              toolCallId: call.toolCallId,
              payload: call.input,
            },
          }),
        );
      return [decision, ...handoffs];
    }
    case 'tool':
      return [
        withAgent({
          type: 'tool-call',
          data: {
            tool: entry.meta?.tool ?? entry.name.replace(/^tool:/, ''),
            status: entry.status,
            ...(failed ? { error } : { output: entry.result ?? null }),
          },
        }),
      ];
    case 'child':
      return [
        withAgent({
          type: 'child-run',
          data: {
            target: entry.name.replace(/^run:/, ''),
            status: entry.status,
            ...(failed ? { error } : {}),
          },
        }),
      ];
    case 'signal': {
      const signal = entry.name.replace(/^waitFor:/, '');
      if (!signal.startsWith('approval:')) {
        return [
          {
            type: 'signal',
            data: {
              signal,
              status: entry.status,
              ...(failed ? { error } : { payload: (entry.result as { payload?: unknown })?.payload ?? null }),
            },
          },
        ];
      }
      const toolCallId = signal.slice('approval:'.length);
      if (failed) return [{ type: 'approval-timeout', data: { signal, toolCallId, error } }];
      const payload = (entry.result as { payload?: unknown })?.payload;
      try {
        const decision = approvalDecision(payload, signal);
        return [
          { type: decision.approved ? 'approved' : 'rejected', data: { signal, toolCallId, ...decision } },
        ];
      } catch {
        return [{ type: 'signal', data: { signal, status: 'invalid-payload', payload: payload ?? null } }];
      }
    }
    case 'step': {
      const result = entry.result as Record<string, unknown> | undefined;
      if (entry.name.startsWith('approval:') && result?.kind === 'approval') {
        const { tool, toolCallId, input, signal } = result;
        return [withAgent({ type: 'approval-requested', data: { tool, toolCallId, input, signal } })];
      }
      if (entry.name.startsWith('denied:') && result?.kind === 'denial') {
        const { tool, toolCallId, input, reason } = result;
        return [withAgent({ type: 'denial', data: { tool, toolCallId, input, reason } })];
      }
      return [];
    }
    default:
      return [];
  }
}

/**
 * Every audit entry of a run, in chain order.
 *
 * @example
 * ```ts
 * for (const entry of await readAudit(store, runId)) console.log(entry.index, entry.type, entry.agent);
 * ```
 */
export async function readAudit(store: Store, runId: string): Promise<AuditEntry[]> {
  return (await store.readRecords(auditStream(runId))).map((record) => record.data as AuditEntry);
}

interface ChainState {
  index: number;
  hash: string;
  /** `key` + type of every entry in the chain, so a journal entry is never audited twice. */
  audited: Set<string>;
  queue: Promise<void>;
  /** Set once the chain's head is read; nothing is appended before. */
  ready: boolean;
}

const identity = (entry: { key: string; type: string }) => `${entry.key}\u0000${entry.type}`;

/**
 * Makes the function a runtime created with `audit: createAuditWriter` calls after every journal append:
 * it appends the entry's audit records to `audit:<runId>`, chained to the last one.
 *
 * Exactly once per journal entry: replayed steps are never appended to the journal again, so
 * they never reach the writer; and the first time an execution audits (a fresh run, or a run
 * resumed in this or another process) the writer reads the chain and the journal and first
 * appends the entries a crash left unaudited, in journal order. Each execution (`owner`) keeps
 * its own chain state, and only the process holding a run's lease writes its chain.
 *
 * @example
 * ```ts
 * const audit = createAuditWriter(store);
 * await audit(journalEntry, execution);
 * ```
 */
export function createAuditWriter(store: Store): (entry: JournalEntry, owner: object) => Promise<void> {
  const chains = new WeakMap<object, Map<string, ChainState>>();
  return (entry, owner) => {
    const bodies = auditBodies(entry);
    if (bodies.length === 0) return Promise.resolve();
    let perOwner = chains.get(owner);
    if (perOwner === undefined) {
      perOwner = new Map();
      chains.set(owner, perOwner);
    }
    let state = perOwner.get(entry.runId);
    if (state === undefined) {
      const fresh: ChainState = {
        index: 0,
        hash: auditGenesis,
        audited: new Set(),
        queue: Promise.resolve(),
        ready: false,
      };
      const states = perOwner;
      fresh.queue = load(store, entry.runId, fresh).catch((error: unknown) => {
        // Read again for the next entry rather than starting a second chain at the genesis.
        states.delete(entry.runId);
        throw error;
      });
      perOwner.set(entry.runId, fresh);
      state = fresh;
    }
    const chain = state;
    // A failed append rejects its own entry's promise only; the next one chains to the last written entry.
    const run = () => append(store, chain, entry, bodies);
    const next = chain.queue.then(run, run);
    chain.queue = next;
    return next;
  };
}

/** Reads the chain's head, then audits journal entries a crash left out (in journal order). */
async function load(store: Store, runId: string, state: ChainState): Promise<void> {
  const existing = await readAudit(store, runId);
  for (const entry of existing) state.audited.add(identity(entry));
  const last = existing.at(-1);
  if (last !== undefined) {
    state.index = last.index;
    state.hash = last.hash;
  }
  state.ready = true;
  for (const journaled of await store.loadJournal(runId)) {
    await append(store, state, journaled, auditBodies(journaled));
  }
}

async function append(
  store: Store,
  state: ChainState,
  entry: JournalEntry,
  bodies: AuditBody[],
): Promise<void> {
  if (!state.ready)
    throw new Error(
      `The audit log of run ${entry.runId} could not be read; ${entry.key} is audited on the next execution.`,
    );
  for (const body of bodies) {
    const id = identity({ key: entry.key, type: body.type });
    if (state.audited.has(id)) continue;
    const sealed = seal(state, entry, body);
    await store.appendRecord(auditStream(entry.runId), sealed, entry.endedAt);
    state.index = sealed.index;
    state.hash = sealed.hash;
    state.audited.add(id);
  }
}

/**
 * The next entry of the chain for `body`, with its hash. The data is serialized once: its
 * canonical JSON goes into the hashed text, which is the same text `auditHash` computes over
 * the stored entry (fields in sorted order). Data that would change in a JSON round trip is
 * first made into its JSON form, so the stored entry hashes the same after reading.
 */
function seal(state: ChainState, entry: JournalEntry, body: AuditBody): AuditEntry {
  let data = body.data;
  let dataJson = plainCanonical(data, 0);
  if (dataJson === undefined) {
    data = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
    dataJson = canonicalJson(data);
  }
  const index = state.index + 1;
  const prev = state.hash;
  const at = entry.endedAt;
  // canonical(sealed, 'hash'): keys in sorted order, undefined ones left out.
  // (Every field but data is a string or a number, whose canonical JSON is JSON.stringify's.)
  let text = '{';
  if (body.agent !== undefined) text += `"agent":${JSON.stringify(body.agent)},`;
  if (at !== undefined) text += `"at":${JSON.stringify(at)},`;
  text +=
    `"data":${dataJson},"index":${index},"key":${JSON.stringify(entry.key)},` +
    `"prev":${JSON.stringify(prev)},"runId":${JSON.stringify(entry.runId)},` +
    `"step":${JSON.stringify(entry.name)},"type":${JSON.stringify(body.type)}}`;
  const sealed: AuditEntry = {
    index,
    runId: entry.runId,
    key: entry.key,
    step: entry.name,
    type: body.type,
    at,
    ...(body.agent === undefined ? {} : { agent: body.agent }),
    data,
    prev,
    hash: sha('sha256', prev + text, 'hex'),
  };
  return sealed;
}
