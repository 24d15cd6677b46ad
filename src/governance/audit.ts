/** The audit log: an append-only, hash-chained record per run of model decisions, tool calls, handoffs, approvals and denials. */

import { ConfigError } from '../core/errors.js';
import type { SealedAudit } from '../core/execution-host.js';
import { nodeCrypto } from '../core/node-crypto.js';
import { type JournalEntry, RecordJson, type Store, type StreamRecord } from '../core/store.js';
import { approvalDecision } from './approvals.js';
import { canonical, canonicalJson, sortedKeys } from './canonical-json.js';

export { canonicalJson };

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
 * canonical JSON (keys sorted, no spaces) of every other field; for an entry written with a
 * key (`mac: 'hmac-sha256'`), the HMAC-SHA256 of the same text under that key.
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
  /** Set when `hash` is an HMAC under the writer's key (`createAuditWriter(store, { key })`). */
  mac?: 'hmac-sha256';
  hash: string;
}

/** A secret for keyed audit logs: text (at least 16 characters) or bytes (at least 16). */
export type AuditKey = string | Uint8Array;

/** Checks an audit key; `where` names the option in the error. */
function checkAuditKey(key: unknown, where: string): AuditKey {
  const length = typeof key === 'string' || key instanceof Uint8Array ? key.length : -1;
  if (length < 16)
    throw new ConfigError(
      `${where}: the audit key must be a secret string or byte array of at least 16 characters/bytes${length >= 0 ? ` (got ${length})` : ''}; generate one with \`openssl rand -hex 32\`.`,
      { code: 'INVALID_OPTION' },
    );
  return key as AuditKey;
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
 * The record stream that says, outside the chain, that a run's audit log is keyed: a keyed
 * writer appends `{ mac: 'hmac-sha256' }` to it before the chain's first entry, and
 * `verifyAudit` refuses to check such a log without the key (a log stripped of its MACs and
 * re-chained with plain sha256 would otherwise verify).
 *
 * @example
 * ```ts
 * const keyed = (await store.readRecords(auditKeyStream(runId))).length > 0;
 * ```
 */
export function auditKeyStream(runId: string): string {
  return `audit-key:${runId}`;
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
 * The hash of an audit entry: sha256 (hex) of `prev` + the canonical JSON of the entry without
 * `hash`; for a keyed entry (`mac: 'hmac-sha256'`), the HMAC-SHA256 of that text under `key`,
 * which must then be given.
 *
 * @example
 * ```ts
 * const ok = auditHash(entry, process.env.BATON_AUDIT_KEY) === entry.hash;
 * ```
 */
export function auditHash(entry: Omit<AuditEntry, 'hash'> & { hash?: string }, key?: AuditKey): string {
  const text = canonical(entry, 'hash');
  if (entry.mac === undefined)
    return nodeCrypto().createHash('sha256').update(entry.prev).update(text).digest('hex');
  if (entry.mac !== 'hmac-sha256')
    throw new ConfigError(
      `Audit entry #${entry.index} of run ${entry.runId} uses an unknown mac "${String(entry.mac)}".`,
    );
  if (key === undefined)
    throw new ConfigError(
      `The audit log of run ${entry.runId} is keyed (HMAC-SHA256): its key is needed to check it (BATON_AUDIT_KEY for the CLI).`,
      { code: 'AUDIT_KEY_REQUIRED' },
    );
  return nodeCrypto().createHmac('sha256', key).update(entry.prev).update(text).digest('hex');
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
  // Data objects are built with their keys in sorted order, so their canonical JSON (which
  // sorts keys) is written without sorting them.
  const failed = entry.status === 'failed';
  const error = entry.error?.message;
  switch (entry.kind) {
    case 'model': {
      if (failed) return [withAgent(agent, { type: 'model-error', data: { error } })];
      const response = entry.result as {
        text?: string;
        model?: string;
        toolCalls?: Array<{ toolCallId: string; toolName: string; input: string }>;
      };
      const calls = response?.toolCalls ?? [];
      const decision: AuditBody = withAgent(agent, {
        type: 'model-decision',
        data:
          calls.length === 0
            ? { answer: response?.text ?? '', decision: 'final-answer', model: response?.model }
            : {
                decision: 'tool-calls',
                model: response?.model,
                ...(response?.text ? { text: response.text } : {}),
                toolCalls: calls.map((call) => ({
                  id: call.toolCallId,
                  input: call.input,
                  tool: call.toolName,
                })),
              },
      });
      const bodies = [decision];
      for (const call of calls) {
        if (!call.toolName.startsWith('transfer_to_')) continue;
        bodies.push(
          withAgent(agent, {
            type: 'handoff',
            data: {
              from: agent,
              payload: call.input,
              to: call.toolName.slice('transfer_to_'.length),
              toolCallId: call.toolCallId,
            },
          }),
        );
      }
      return bodies;
    }
    case 'tool':
      return [
        withAgent(agent, {
          type: 'tool-call',
          data: failed
            ? { error, status: entry.status, tool: entry.meta?.tool ?? entry.name.replace(/^tool:/, '') }
            : {
                output: entry.result ?? null,
                status: entry.status,
                tool: entry.meta?.tool ?? entry.name.replace(/^tool:/, ''),
              },
        }),
      ];
    case 'child':
      return [
        withAgent(agent, {
          type: 'child-run',
          data: {
            ...(failed ? { error } : {}),
            status: entry.status,
            target: entry.name.replace(/^run:/, ''),
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
        const { tool, toolCallId, input, signal, escalatedTo } = result;
        const data = {
          tool,
          toolCallId,
          input,
          signal,
          ...(escalatedTo === undefined ? {} : { escalatedTo }),
        };
        return [withAgent(agent, { type: 'approval-requested', data })];
      }
      // What a deadline decided (`by: 'timeout'`), after the wait's own `approval-timeout` entry.
      if (entry.name.startsWith('approval-timeout:') && result?.kind === 'approval-decision') {
        const { tool, toolCallId, signal, approved, reason, by } = result;
        return [
          withAgent(agent, {
            type: approved === true ? 'approved' : 'rejected',
            data: { signal, tool, toolCallId, approved, reason, by },
          }),
        ];
      }
      if (entry.name.startsWith('denied:') && result?.kind === 'denial') {
        const { tool, toolCallId, input, reason } = result;
        return [withAgent(agent, { type: 'denial', data: { tool, toolCallId, input, reason } })];
      }
      return [];
    }
    default:
      return [];
  }
}

/** Adds the agent to a fresh body in place (saves a copy). */
function withAgent(agent: string | undefined, body: AuditBody): AuditBody {
  if (agent !== undefined) body.agent = agent;
  return body;
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
  /** Set for a keyed log: hashes are HMACs under it. */
  readonly key: AuditKey | undefined;
  readonly runId: string;
  /** `runId` as JSON, made on first use. */
  runIdJson: string | undefined;
  /** The agent of the last entry sealed, and its `"agent":...,` field. */
  agent: string | undefined;
  agentField: string | undefined;
  index: number;
  hash: string;
  /**
   * `key` + type of every entry in the chain, so a journal entry is never audited twice; only
   * kept by an execution that catches up on a journal (a fresh one never sees an entry twice).
   */
  audited: Set<string> | undefined;
  /** The last append (or the catch-up); the next one starts after it, so the chain stays in order. */
  queue: Promise<void> | undefined;
  /** Appends started and not finished: none (the usual case, each awaited before the next) means the next one starts at once. */
  pending: number;
  /** `auditStream(runId)`, made on first use. */
  stream: string | undefined;
  /** Set once the chain's head is read; nothing is appended before. */
  ready: boolean;
  /** True while a sealed write (`AuditChain.seal`) is in flight: the head may yet move back. */
  sealing: boolean;
  /** Appends waiting for that write's outcome. */
  afterSeal: Array<() => void> | undefined;
}

const identity = (key: string, type: string) => `${key}\u0000${type}`;

/**
 * Options of `createAuditWriter`. With `key`, every hash is an HMAC-SHA256 under it (entries
 * carry `mac: 'hmac-sha256'`): someone who can edit the store but does not hold the key cannot
 * rewrite the chain after changing an entry, which a plain hash chain allows.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ audit: (store) => createAuditWriter(store, { key: process.env.BATON_AUDIT_KEY }) });
 * ```
 */
export interface AuditWriterOptions {
  /** A secret of at least 16 characters or bytes; keep it out of the store (an environment variable, a secret manager). */
  key?: AuditKey;
}

/**
 * The execution an audit chain is opened for: its run, and whether the run's journal was
 * empty as it began (`startedEmpty`: no audit entry can exist yet, so the chain starts at the
 * genesis without reading the store).
 *
 * @example
 * ```ts
 * const auditEntry = createAuditWriter(store)({ runId: 'run_1', startedEmpty: true });
 * ```
 */
export interface AuditedExecution {
  readonly runId: string;
  readonly startedEmpty?: boolean;
}

/**
 * Makes the audit writer of a runtime created with `audit: createAuditWriter`: the runtime
 * opens one chain per execution of a run (`openChain`) and gives it every journal entry: it
 * seals the entry's audit records into the chain to be stored with the entry, on a store with
 * `appendJournalWith`, or appends them to `audit:<runId>` after the entry. Called as a
 * function, the writer opens a chain and returns what appends after each entry.
 *
 * Exactly once per journal entry: replayed steps are never appended to the journal again, so
 * they never reach the writer; and the first time an execution audits a run it resumed (in
 * this or another process) the chain reads the stream and the journal and first appends the
 * entries a crash left unaudited, in journal order. An execution that began on an empty journal
 * skips that read: nothing can be audited yet. Only the process holding a run's lease writes
 * its chain.
 *
 * @example
 * ```ts
 * const auditEntry = createAuditWriter(store)({ runId: 'run_1', startedEmpty: false });
 * await auditEntry(journalEntry);
 * ```
 */
export function createAuditWriter(store: Store, options: AuditWriterOptions = {}): AuditWriter {
  const key = options.key === undefined ? undefined : checkAuditKey(options.key, 'createAuditWriter()');
  const writer = ((execution: AuditedExecution) => {
    const chain = new Chain(store, key, execution);
    return (entry: JournalEntry) => chain.append(entry);
  }) as AuditWriter;
  writer.openChain = (execution) => new Chain(store, key, execution);
  return writer;
}

/**
 * What `createAuditWriter` returns: called with an execution, it opens that execution's chain
 * and returns what appends each journal entry's records after the entry; `openChain` opens the
 * chain itself (the runtime's way in, which can also `seal` records into the entry's write).
 */
export interface AuditWriter {
  (execution: AuditedExecution): (entry: JournalEntry) => Promise<void>;
  openChain(execution: AuditedExecution): AuditChain;
}

/**
 * One execution's audit chain: `append` appends an entry's audit records after the entry is
 * stored; `seal` instead gives them to be stored in the entry's own write (`Store.appendJournalWith`).
 */
export interface AuditChain {
  append(entry: JournalEntry): Promise<void>;
  /**
   * Seals `entry`'s audit records into the chain, to be stored with the entry, and returns them
   * with `stored`, to call with the write's outcome (a refused write takes them back out of the
   * chain). Undefined when the entry must be appended after it instead: the chain's head is
   * still being read (a resumed run), another write of the chain is in flight, or a keyed chain
   * has not written its marker yet.
   */
  seal(entry: JournalEntry): SealedAudit | undefined;
}

/** One execution's chain: its state (see `ChainState`) and the two ways in. */
class Chain implements ChainState, AuditChain {
  readonly key: AuditKey | undefined;
  readonly runId: string;
  runIdJson: string | undefined = undefined;
  agent: string | undefined = undefined;
  agentField: string | undefined = undefined;
  index = 0;
  hash = auditGenesis;
  audited: Set<string> | undefined = undefined;
  queue: Promise<void> | undefined = undefined;
  pending = 0;
  stream: string | undefined = undefined;
  ready: boolean;
  sealing = false;
  afterSeal: Array<() => void> | undefined = undefined;
  readonly #store: Store;

  constructor(store: Store, key: AuditKey | undefined, execution: AuditedExecution) {
    this.#store = store;
    this.key = key;
    this.runId = execution.runId;
    this.ready = execution.startedEmpty === true;
  }

  append(entry: JournalEntry): Promise<void> {
    const store = this.#store;
    const bodies = auditBodies(entry);
    if (bodies.length === 0) return Promise.resolve();
    if (!this.ready && this.queue === undefined) {
      this.audited = new Set();
      this.queue = load(store, this).catch((error: unknown) => {
        // Read again for the next entry rather than starting a second chain at the genesis.
        this.queue = undefined;
        throw error;
      });
    }
    // A failed append rejects its own entry's promise only; the next one chains to the last written entry.
    this.pending++;
    let next: Promise<void>;
    if (this.ready && this.pending === 1)
      next =
        bodies.length === 1 && this.audited === undefined && (this.key === undefined || this.index > 0)
          ? appendOne(store, this, entry, bodies[0] as AuditBody)
          : append(store, this, entry, bodies, true);
    else {
      const run = () => append(store, this, entry, bodies, true);
      if (this.queue !== undefined) next = this.queue.then(run, run);
      else if (this.sealing)
        // Behind a sealed write still in flight: it decides where the chain's head is.
        next = new Promise<void>((resolve) => {
          this.afterSeal ??= [];
          this.afterSeal.push(resolve);
        }).then(run);
      else next = run();
    }
    this.queue = next;
    return next;
  }

  seal(entry: JournalEntry): SealedAudit | undefined {
    return sealRecords(this, entry);
  }
}

/** What a sealed entry's write is told: nothing to store, nothing to undo. */
const noRecords: SealedAudit = { records: [], stored: () => undefined };

/** `AuditChain.seal`: the fast path of `append` (the chain's head known, nothing in flight), without the store call. */
function sealRecords(state: ChainState, entry: JournalEntry): SealedAudit | undefined {
  if (
    !state.ready ||
    state.pending > 0 ||
    state.audited !== undefined ||
    (state.key !== undefined && state.index === 0)
  )
    return undefined;
  const { index, hash } = state;
  let records: StreamRecord[];
  const usual = usualBody(entry);
  if (usual !== undefined) {
    state.stream ??= auditStream(state.runId);
    const sealed = sealText(state, entry, usual.type, usual.agent, usual.dataJson);
    records = [{ stream: state.stream, data: new RecordJson(sealed.json), at: entry.endedAt }];
    state.index += 1;
    state.hash = sealed.hash;
  } else {
    const bodies = auditBodies(entry);
    if (bodies.length === 0) return noRecords;
    state.stream ??= auditStream(state.runId);
    records = [];
    for (const body of bodies) {
      const sealed = seal(state, entry, body);
      records.push({ stream: state.stream, data: new RecordJson(sealed.json), at: entry.endedAt });
      state.index += 1;
      state.hash = sealed.hash;
    }
  }
  // The chain moves on now; entries audited meanwhile wait for the write (see `afterSeal`).
  state.pending++;
  state.sealing = true;
  state.queue = undefined;
  return new SealedRecords(records, state, index, hash);
}

/** A sealed entry's records and what its write's outcome does to the chain (one object, no closure). */
class SealedRecords implements SealedAudit {
  constructor(
    readonly records: StreamRecord[],
    readonly state: ChainState,
    /** The chain's head before the records: where a refused write takes it back to. */
    readonly index: number,
    readonly hash: string,
  ) {}

  stored(written: boolean): void {
    const state = this.state;
    state.pending--;
    state.sealing = false;
    if (!written) {
      state.index = this.index;
      state.hash = this.hash;
    }
    const waiting = state.afterSeal;
    state.afterSeal = undefined;
    if (waiting !== undefined) for (const resume of waiting) resume();
  }
}

/** Reads the chain's head, then audits journal entries a crash left out (in journal order). */
async function load(store: Store, state: ChainState): Promise<void> {
  const existing = await readAudit(store, state.runId);
  for (const entry of existing) state.audited?.add(identity(entry.key, entry.type));
  const last = existing.at(-1);
  if (last !== undefined) {
    state.index = last.index;
    state.hash = last.hash;
  }
  state.ready = true;
  for (const journaled of await store.loadJournal(state.runId)) {
    await append(store, state, journaled, auditBodies(journaled));
  }
}

/**
 * `append` for the usual case, without an async frame: one body, the chain's head known, no
 * catch-up running and no key marker to write first. Counted as one of the writer's `pending`.
 */
function appendOne(store: Store, state: ChainState, entry: JournalEntry, body: AuditBody): Promise<void> {
  let sealed: { hash: string; json: string };
  let written: Promise<number>;
  try {
    sealed = seal(state, entry, body);
    state.stream ??= auditStream(state.runId);
    written = store.appendRecord(state.stream, new RecordJson(sealed.json), entry.endedAt);
  } catch (error) {
    state.pending--;
    return Promise.reject(error);
  }
  return written.then(
    () => {
      state.index += 1;
      state.hash = sealed.hash;
      state.pending--;
    },
    (error: unknown) => {
      state.pending--;
      throw error;
    },
  );
}

/** Appends the audit records of one journal entry; `counted`: one of the writer's `pending` appends. */
async function append(
  store: Store,
  state: ChainState,
  entry: JournalEntry,
  bodies: AuditBody[],
  counted = false,
): Promise<void> {
  try {
    if (!state.ready)
      throw new Error(
        `The audit log of run ${entry.runId} could not be read; ${entry.key} is audited on the next execution.`,
      );
    state.stream ??= auditStream(state.runId);
    const stream = state.stream;
    // A keyed chain says so outside itself before its first entry, so it cannot be downgraded unseen.
    if (state.key !== undefined && state.index === 0)
      await store.appendRecord(auditKeyStream(state.runId), { mac: 'hmac-sha256' }, entry.endedAt);
    for (const body of bodies) {
      const id = state.audited === undefined ? undefined : identity(entry.key, body.type);
      if (id !== undefined && state.audited?.has(id)) continue;
      const sealed = seal(state, entry, body);
      await store.appendRecord(stream, new RecordJson(sealed.json), entry.endedAt);
      state.index += 1;
      state.hash = sealed.hash;
      if (id !== undefined) state.audited?.add(id);
    }
  } finally {
    if (counted) state.pending--;
  }
}

/** `"key":<text as JSON>,` for a string, `''` for undefined (left out, as canonical JSON leaves it). */
function textField(key: string, value: string | undefined): string {
  return value === undefined ? '' : `"${key}":${jsonString(value)},`;
}

/**
 * The canonical JSON of the data of the bodies nearly every run writes (a model decision, a
 * tool call with a plain output), written directly: `auditBodies` builds these data objects with
 * their keys in sorted order, and every value in them is a string (or, for a tool's output, a
 * string, finite number, boolean or null), so the text is the fields in that order, each value
 * as JSON (about 3 times faster than `JSON.stringify` of the object, whose strings here hold
 * quotes to escape). Undefined for anything else, which `plainCanonical` then serializes.
 */
function knownDataJson(body: AuditBody): string | undefined {
  const data = body.data;
  if (body.type === 'model-decision') {
    const { model, answer, text } = data;
    if (!isText(model) || !isText(answer) || !isText(text)) return undefined;
    const calls = data.toolCalls as Array<Record<string, unknown>> | undefined;
    if (calls === undefined) {
      const fields = `${textField('answer', answer)}"decision":${jsonString(data.decision as string)},${textField('model', model)}`;
      return `{${fields.slice(0, -1)}}`;
    }
    let list = '';
    for (let index = 0; index < calls.length; index++) {
      const { id, input, tool } = calls[index] as Record<string, unknown>;
      if (typeof id !== 'string' || typeof input !== 'string' || typeof tool !== 'string') return undefined;
      list += `${index === 0 ? '' : ','}{"id":${jsonString(id)},"input":${jsonString(input)},"tool":${jsonString(tool)}}`;
    }
    return `{"decision":"tool-calls",${textField('model', model)}${textField('text', text)}"toolCalls":[${list}]}`;
  }
  if (body.type === 'tool-call') {
    const { tool, status, error, output } = data;
    if (typeof tool !== 'string' || typeof status !== 'string' || !isText(error)) return undefined;
    let outputField: string;
    if (!('output' in data)) outputField = '';
    else if (output === null || output === undefined) outputField = output === null ? '"output":null,' : '';
    else if (typeof output === 'string') outputField = `"output":${jsonString(output)},`;
    else if (typeof output === 'boolean' || (typeof output === 'number' && Number.isFinite(output)))
      outputField = `"output":${JSON.stringify(output)},`;
    else return undefined;
    return `{${textField('error', error)}${outputField}"status":${jsonString(status)},"tool":${jsonString(tool)}}`;
  }
  return undefined;
}

/**
 * The one body of the steps nearly every run records, made straight from the journal entry:
 * a model step that answered or called tools (none of them a handoff), and a tool step whose
 * output is a string, finite number, boolean or null. Its data's canonical JSON is what
 * `auditBodies` then `knownDataJson` make (the same fields, the same sorted order), without the
 * body and data objects in between. Undefined for any other entry, which takes that way.
 */
function usualBody(
  entry: JournalEntry,
): { type: AuditEntryType; agent: string | undefined; dataJson: string } | undefined {
  if (entry.status === 'failed') return undefined;
  const meta = entry.meta;
  const agent = typeof meta?.agent === 'string' ? meta.agent : undefined;
  if (entry.kind === 'model') {
    const response = entry.result as Record<string, unknown> | null | undefined;
    if (typeof response !== 'object' || response === null) return undefined;
    const { text, model, toolCalls } = response;
    if (!isText(text) || !isText(model)) return undefined;
    const calls = toolCalls === undefined ? [] : toolCalls;
    if (!Array.isArray(calls)) return undefined;
    if (calls.length === 0)
      return {
        type: 'model-decision',
        agent,
        dataJson: `{"answer":${jsonString(text ?? '')},"decision":"final-answer"${model === undefined ? '' : `,"model":${jsonString(model)}`}}`,
      };
    let list = '';
    for (let index = 0; index < calls.length; index++) {
      const call = calls[index] as Record<string, unknown> | null | undefined;
      if (typeof call !== 'object' || call === null) return undefined;
      const { toolCallId, input, toolName } = call;
      if (typeof toolCallId !== 'string' || typeof input !== 'string' || typeof toolName !== 'string')
        return undefined;
      if (toolName.startsWith('transfer_to_')) return undefined;
      list += `${index === 0 ? '' : ','}{"id":${jsonString(toolCallId)},"input":${jsonString(input)},"tool":${jsonString(toolName)}}`;
    }
    return {
      type: 'model-decision',
      agent,
      dataJson: `{"decision":"tool-calls",${textField('model', model)}${text ? textField('text', text) : ''}"toolCalls":[${list}]}`,
    };
  }
  if (entry.kind === 'tool') {
    const tool = meta?.tool ?? entry.name.replace(/^tool:/, '');
    if (typeof tool !== 'string') return undefined;
    const output = entry.result ?? null;
    let outputJson: string;
    if (output === null) outputJson = 'null';
    else if (typeof output === 'string') outputJson = jsonString(output);
    else if (typeof output === 'boolean' || (typeof output === 'number' && Number.isFinite(output)))
      outputJson = JSON.stringify(output);
    else return undefined;
    return {
      type: 'tool-call',
      agent,
      dataJson: `{"output":${outputJson},"status":${jsonString(entry.status)},"tool":${jsonString(tool)}}`,
    };
  }
  return undefined;
}

/** True for a string or `undefined` (left out of an object's JSON, as canonical JSON leaves it out). */
function isText(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

/**
 * The next entry of the chain for `body`: its hash and its stored JSON. The data is serialized
 * once: its canonical JSON goes into the hashed text, which is the same text `auditHash`
 * computes over the stored entry (fields in sorted order), and the stored JSON is that text
 * with the hash added in its sorted place. Data that would change in a JSON round trip is first
 * made into its JSON form, so the stored entry hashes the same after reading.
 */
function seal(state: ChainState, entry: JournalEntry, body: AuditBody): { hash: string; json: string } {
  let dataJson = knownDataJson(body);
  if (dataJson === undefined) {
    dataJson = plainCanonical(body.data, 0);
    if (dataJson === undefined) dataJson = canonicalJson(JSON.parse(JSON.stringify(body.data)));
  }
  return sealText(state, entry, body.type, body.agent, dataJson);
}

/** `seal` of a body given as its type, agent and data's canonical JSON. */
function sealText(
  state: ChainState,
  entry: JournalEntry,
  type: AuditEntryType,
  agent: string | undefined,
  dataJson: string,
): { hash: string; json: string } {
  const prev = state.hash;
  const at = entry.endedAt;
  let agentField = '';
  if (agent !== undefined) {
    // The agent rarely changes from one entry to the next: its JSON is made once per change.
    if (agent !== state.agent) {
      state.agent = agent;
      state.agentField = `"agent":${JSON.stringify(agent)},`;
    }
    agentField = state.agentField as string;
  }
  state.runIdJson ??= JSON.stringify(state.runId);
  // canonical(entry, 'hash'): keys in sorted order (agent, at, data, [hash], index, key, mac,
  // prev, runId, step, type), undefined ones left out. Every field but data is a string or a
  // number, whose canonical JSON is JSON.stringify's; endedAt comes from the clock (a finite
  // number, whose JSON is its string); the type is one of AuditEntryType's literals, which need
  // no escaping. The text splits where the hash goes in the stored JSON: the hash is taken over
  // `prev` + head + tail, and the stored JSON is head + the hash field + tail.
  const head = `{${agentField}${at === undefined ? '' : `"at":${at},`}"data":${dataJson}`;
  const tail = `,"index":${state.index + 1},"key":${jsonString(entry.key)}${state.key === undefined ? ',"prev":"' : ',"mac":"hmac-sha256","prev":"'}${prev}","runId":${state.runIdJson},"step":${jsonString(entry.name)},"type":"${type}"}`;
  const text = prev + head + tail;
  const hash =
    state.key === undefined
      ? nodeCrypto().hash('sha256', text, 'hex')
      : nodeCrypto().createHmac('sha256', state.key).update(text).digest('hex');
  // Hashing flattened `text` (V8 turns a concatenation into one flat string when it is read
  // whole), so the stored JSON is made of two slices of it, copied with plain memory copies,
  // instead of walking the tree of pieces of head and tail a second time (callgrind: about 3.8k
  // fewer instructions per run of three entries). join() makes it one flat string in one
  // allocation: a concatenation would keep every piece alive in a store that holds the text.
  const split = prev.length + head.length;
  return { hash, json: [text.slice(prev.length, split), ',"hash":"', hash, '"', text.slice(split)].join('') };
}

/** What needs escaping in a JSON string: a quote, a backslash, a control character, a surrogate (lone ones are escaped). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)`, without a call into the runtime for the usual text that needs no escape. */
function jsonString(text: string): string {
  return needsEscape.test(text) ? JSON.stringify(text) : `"${text}"`;
}
