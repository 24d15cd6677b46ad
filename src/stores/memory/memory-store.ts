/** The in-memory Store: Maps in one process, no persistence; the fastest store, for tests and short-lived runs. */

import type { BatonError, SerializedError } from '../../core/errors.js';
import { RunNotFoundError } from '../../core/errors.js';
import type {
  JournalEntry,
  LeaseFence,
  RunPatch,
  RunRecord,
  RunStatus,
  SignalRecord,
  Store,
  StoredRecord,
  StreamRecord,
} from '../../core/store.js';
import { checkReadOptions, prepareRecord, storedNow, terminalStatuses } from '../../core/store.js';
import {
  journalConflictError,
  leaseLostError,
  runExistsError,
  storeClosedError,
} from '../../core/store-errors.js';

/**
 * Everything the store keeps of one run: its record and its journal in append order, in one
 * object under one map key (a run's calls look it up once, not once per map). Duplicate journal
 * keys are found by a scan while the journal is short (most are a handful of entries) and
 * through a key set once it grows.
 */
class RunSlot {
  /** Undefined while only journal entries exist for the run (appends without a fence need no run). */
  record: RunRecord | undefined;
  entries: JournalEntry[] | undefined = undefined;
  keys: Set<string> | undefined = undefined;
  /** Position in the store's `live` list, -1 when terminal (or no record). */
  liveAt = -1;
  /** Position in the store's `leased` list, -1 without a lease owner. */
  leasedAt = -1;
  constructor(record: RunRecord | undefined) {
    this.record = record;
  }
}

type Position = 'liveAt' | 'leasedAt';

/**
 * Puts `slot` in `list` or takes it out, keeping its position in `slot[at]`. A list, not a Set:
 * a Set that a run joins and leaves again (every run does) reallocates its table when it empties.
 * Order is not kept (the last member takes a leaving one's place).
 */
function place(list: RunSlot[], slot: RunSlot, at: Position, member: boolean): void {
  const index = slot[at];
  if (member) {
    if (index === -1) slot[at] = list.push(slot) - 1;
    return;
  }
  if (index === -1) return;
  const last = list.pop() as RunSlot;
  if (last !== slot) {
    list[index] = last;
    last[at] = index;
  }
  slot[at] = -1;
}

const scanLimit = 32;

/** Journals shorter than this grow by a copy at their exact size (see `append`). */
const exactGrowthLimit = 8;

/** `entries` and then `entry`, as a new list of its exact size (`concat` would take V8's slow path for a non-array argument). */
function withEntry(entries: JournalEntry[], entry: JournalEntry): JournalEntry[] {
  const length = entries.length;
  const next = new Array<JournalEntry>(length + 1);
  for (let index = 0; index < length; index++) next[index] = entries[index] as JournalEntry;
  next[length] = entry;
  return next;
}

function hasKey(entries: JournalEntry[], slot: RunSlot, key: string): boolean {
  if (entries.length < scanLimit) {
    for (let index = 0; index < entries.length; index++) if (entries[index]!.key === key) return true;
    return false;
  }
  slot.keys ??= new Set(entries.map((entry) => entry.key));
  return slot.keys.has(key);
}

/**
 * Creates a Store that keeps everything in Maps inside this process. Every method is a few
 * Map operations and returns an already-settled promise (a write that succeeded returns
 * `storedNow`, so the runtime moves on without waiting a turn); nothing is persisted.
 *
 * Values are stored by reference, never cloned: `input`, `output`, step results, `meta` and
 * signal payloads must be JSON-serializable (the durable stores require it too) and must not
 * be mutated after they are handed to the store. Run records are copied one level deep on
 * the way in and out, so changing a returned record never changes the store; journal entries
 * are copied one level deep on the way in, and entries and signals are returned as stored
 * (treat them as read-only).
 *
 * Record streams (`appendRecord`) are the exception: each record's data is checked and kept as
 * a JSON copy, so it reads back exactly as the SQLite store would return it.
 *
 * After `close()` every method rejects with a `BatonError` coded `STORE_CLOSED`.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from 'batonjs';
 * const store = createMemoryStore();
 * await store.createRun(run);
 * await store.appendJournal({ runId: run.id, key: 'r#0', name: 'model', kind: 'model',
 *   status: 'completed', result: 'hi', startedAt: 1, endedAt: 2 });
 * const journal = await store.loadJournal(run.id); // [{ key: 'r#0', ... }]
 * ```
 */
export function createMemoryStore(): Store {
  const runs = new Map<string, RunSlot>();
  /** Ids of runs that are not terminal: the only candidates for `findRecoverable`. */
  const live: RunSlot[] = [];
  /** Ids of runs that have a lease owner: the only candidates for `renewLeases`. */
  const leased: RunSlot[] = [];
  const signals = new Map<string, SignalRecord[]>();
  /** Record streams; a record's `seq` is its index + 1. Data is kept as JSON text and parsed on read. */
  const streams = new Map<string, Array<{ at: number; json: string }>>();
  let nextSignalId = 1;
  let closed = false;
  /**
   * The slot looked up last: a run's writes come one after another (create, steps, end), so
   * most lookups skip the map, which holds every run the store has kept.
   */
  let lastId: string | undefined;
  let lastSlot: RunSlot | undefined;

  function slotOf(runId: string): RunSlot | undefined {
    if (runId === lastId) return lastSlot;
    const slot = runs.get(runId);
    if (slot !== undefined) {
      lastId = runId;
      lastSlot = slot;
    }
    return slot;
  }

  /** Replaces a stored run's record, keeping the `live` and `leased` lists in step with it. */
  function put(slot: RunSlot, record: RunRecord): void {
    slot.record = record;
    place(live, slot, 'liveAt', !terminalStatuses.has(record.status));
    place(leased, slot, 'leasedAt', record.leaseOwner !== undefined);
  }

  /** Appends a journal entry; returns why it was refused (a lost lease, a taken key), or undefined. */
  function append(entry: JournalEntry, fence: LeaseFence | undefined): BatonError | undefined {
    let slot = slotOf(entry.runId);
    if (fence !== undefined && (slot?.record === undefined || !holdsLease(slot.record, fence)))
      return leaseLostError(entry.runId, fence);
    if (slot === undefined) {
      slot = new RunSlot(undefined);
      runs.set(entry.runId, slot);
    }
    const entries = slot.entries;
    if (entries === undefined) slot.entries = [copyEntry(entry)];
    else if (hasKey(entries, slot, entry.key)) return journalConflictError(entry.runId, entry.key);
    else {
      // A short journal grows at its exact size (a push would leave room for 16 more entries,
      // kept for as long as the store keeps the run); a long one grows by pushes.
      if (entries.length < exactGrowthLimit) slot.entries = withEntry(entries, copyEntry(entry));
      else entries.push(copyEntry(entry));
      slot.keys?.add(entry.key);
    }
    return undefined;
  }

  /** The stream appended to last, and its records: a run's records come one after another. */
  let lastStream: string | undefined;
  let lastRecords: Array<{ at: number; json: string }> | undefined;

  /** True for a stream the store holds records of: its name was checked when it got its first. */
  function knownStream(stream: unknown): boolean {
    return typeof stream === 'string' && (stream === lastStream || streams.has(stream));
  }

  /**
   * Appends a checked record's JSON to its stream and returns its `seq`. `fresh`: `knownStream`
   * said no for it and nothing was stored since, so it is not looked up again (a run's first
   * record, whose stream is new, would otherwise cost two lookups in a map of every stream kept).
   */
  function storeRecord(stream: string, at: number, json: string, fresh = false): number {
    let records = stream === lastStream ? lastRecords : fresh ? undefined : streams.get(stream);
    if (records === undefined) {
      records = [];
      streams.set(stream, records);
    }
    lastStream = stream;
    lastRecords = records;
    records.push({ at, json });
    return records.length;
  }

  return {
    createRun(run) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const existing = slotOf(run.id);
      if (existing?.record !== undefined) return Promise.reject(runExistsError(run.id));
      let slot = existing;
      if (slot === undefined) {
        slot = new RunSlot(undefined);
        runs.set(run.id, slot);
        lastId = run.id;
        lastSlot = slot;
      }
      put(slot, copyRun(run));
      return storedNow;
    },

    getRun(runId) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const record = slotOf(runId)?.record;
      return Promise.resolve(record === undefined ? undefined : { ...record });
    },

    updateRun(runId, patch, now, fence) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const slot = slotOf(runId);
      const current = slot?.record;
      if (slot === undefined || current === undefined) return Promise.reject(new RunNotFoundError(runId));
      if (fence !== undefined && !holdsLease(current, fence))
        return Promise.reject(leaseLostError(runId, fence));
      put(slot, applyPatch(current, patch, now));
      return storedNow;
    },

    listRuns(filter = {}) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const matches: RunRecord[] = [];
      const { status, target, threadId, createdBefore } = filter;
      for (const { record } of runs.values()) {
        if (record === undefined) continue;
        if (status !== undefined && !statusMatches(status, record.status)) continue;
        if (target !== undefined && record.target !== target) continue;
        if (threadId !== undefined && record.threadId !== threadId) continue;
        if (createdBefore !== undefined && !(record.createdAt < createdBefore)) continue;
        matches.push(record);
      }
      matches.sort(newestFirst);
      const limited = filter.limit === undefined ? matches : matches.slice(0, normalizeLimit(filter.limit));
      return Promise.resolve(limited.map((record) => ({ ...record })));
    },

    claimRun(runId, owner, now, leaseMs, force = false) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const slot = slotOf(runId);
      const current = slot?.record;
      if (slot === undefined || current === undefined || terminalStatuses.has(current.status))
        return Promise.resolve(undefined);
      if (!force && leaseHeldByOther(current, owner, now)) return Promise.resolve(undefined);
      const next: RunRecord = {
        ...current,
        status: 'running',
        leaseOwner: owner,
        leaseExpiresAt: now + leaseMs,
        updatedAt: now,
      };
      put(slot, next);
      return Promise.resolve({ ...next });
    },

    renewLeases(owner, until) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const stopped: string[] = [];
      // A copy: renewing keeps every slot in the list, but the loop must not see it change.
      for (const slot of leased.slice()) {
        const record = slot.record;
        if (record === undefined || record.leaseOwner !== owner) continue;
        if (record.status === 'running') put(slot, { ...record, leaseExpiresAt: until });
        else stopped.push(record.id);
      }
      return Promise.resolve(stopped);
    },

    findRecoverable(now, limit) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const due: Array<{ record: RunRecord; at: number }> = [];
      for (const slot of live) {
        const record = slot.record;
        if (record === undefined) continue;
        const at = dueAt(record, now);
        if (at !== undefined) due.push({ record, at });
      }
      due.sort((a, b) => a.at - b.at || compareIds(a.record.id, b.record.id));
      return Promise.resolve(due.slice(0, normalizeLimit(limit)).map(({ record }) => ({ ...record })));
    },

    appendJournal(entry, fence) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const refused = append(entry, fence);
      return refused === undefined ? storedNow : Promise.reject(refused);
    },

    appendJournalWith(entry, fence, records) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      // Every record is checked (and serialized) before anything is stored; the usual call
      // carries one record, so that one is kept without a list.
      let first: StoredText | undefined;
      let firstFresh = false;
      let rest: StoredText[] | undefined;
      try {
        for (let index = 0; index < records.length; index++) {
          const { stream, data, at } = records[index] as StreamRecord;
          // A stream the store holds has a checked name: its name is not checked again.
          const known = knownStream(stream);
          const prepared = prepareRecord(stream, data, at, known);
          const stored: StoredText = { stream, at: prepared.at, json: prepared.json };
          if (first === undefined) {
            first = stored;
            firstFresh = !known;
          } else if (rest === undefined) rest = [stored];
          else rest.push(stored);
        }
      } catch (error) {
        return Promise.reject(error);
      }
      const refused = append(entry, fence);
      if (refused !== undefined) return Promise.reject(refused);
      if (first !== undefined) storeRecord(first.stream, first.at, first.json, firstFresh);
      if (rest !== undefined) for (const { stream, at, json } of rest) storeRecord(stream, at, json);
      return storedNow;
    },

    loadJournal(runId, from = 0) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const entries = slotOf(runId)?.entries;
      return Promise.resolve(entries === undefined ? [] : entries.slice(from));
    },

    addSignal(runId, name, payload, now) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const slot = slotOf(runId);
      const record = slot?.record;
      if (slot === undefined || record === undefined) return Promise.reject(new RunNotFoundError(runId));
      const signal: SignalRecord = { id: nextSignalId++, runId, name, payload, createdAt: now };
      const list = signals.get(runId);
      if (list === undefined) signals.set(runId, [signal]);
      else list.push(signal);
      if (record.status === 'suspended') put(slot, { ...record, wakeAt: now, updatedAt: now });
      return Promise.resolve(signal);
    },

    listSignals(runId) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      const list = signals.get(runId);
      return Promise.resolve(list === undefined ? [] : list.slice());
    },

    appendRecord(stream, data, now) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      try {
        const known = knownStream(stream);
        const { json, at } = prepareRecord(stream, data, now, known);
        return Promise.resolve(storeRecord(stream, at, json, !known));
      } catch (error) {
        return Promise.reject(error);
      }
    },

    readRecords(stream, options) {
      if (closed) return Promise.reject(storeClosedError('The memory store'));
      try {
        const { after, limit } = checkReadOptions(stream, options);
        const records = streams.get(stream) ?? [];
        const end = limit === undefined ? records.length : Math.min(records.length, after + limit);
        const read: StoredRecord[] = [];
        for (let index = after; index < end; index++) {
          const record = records[index]!;
          read.push({ seq: index + 1, at: record.at, data: JSON.parse(record.json) });
        }
        return Promise.resolve(read);
      } catch (error) {
        return Promise.reject(error);
      }
    },

    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** A record checked for its stream, as the store keeps it. */
interface StoredText {
  stream: string;
  at: number;
  json: string;
}

/** The optional fields of a run, each possibly `undefined` (meaning absent). */
interface RunOptionals {
  output?: unknown;
  error?: SerializedError | undefined;
  threadId?: string | undefined;
  source?: string | undefined;
  endedAt?: number | undefined;
  wakeAt?: number | undefined;
  leaseOwner?: string | undefined;
  leaseExpiresAt?: number | undefined;
  trace?: string | undefined;
}

/**
 * Copies a run's top-level fields, taking optional ones from `optionals` and dropping those that
 * are `undefined`. The two common shapes (a leased run, a run that completed) are built as one
 * literal each: fields added one by one after the literal's own spill into a second allocation
 * (a property array), and this store keeps every run's last record for the life of the process.
 */
function copyRun(run: RunRecord, optionals: RunOptionals = run): RunRecord {
  const { output, endedAt, leaseOwner, leaseExpiresAt } = optionals;
  if (
    optionals.error === undefined &&
    optionals.threadId === undefined &&
    optionals.source === undefined &&
    optionals.wakeAt === undefined &&
    optionals.trace === undefined
  ) {
    const { id, target, targetVersion, input, status, usage, costUsd, createdAt, updatedAt, schemaVersion } =
      run;
    if (
      output !== undefined &&
      endedAt !== undefined &&
      leaseOwner === undefined &&
      leaseExpiresAt === undefined
    )
      return {
        id,
        target,
        targetVersion,
        input,
        status,
        usage,
        costUsd,
        createdAt,
        updatedAt,
        schemaVersion,
        output,
        endedAt,
      };
    if (
      output === undefined &&
      endedAt === undefined &&
      leaseOwner !== undefined &&
      leaseExpiresAt !== undefined
    )
      return {
        id,
        target,
        targetVersion,
        input,
        status,
        usage,
        costUsd,
        createdAt,
        updatedAt,
        schemaVersion,
        leaseOwner,
        leaseExpiresAt,
      };
  }
  const record: RunRecord = {
    id: run.id,
    target: run.target,
    targetVersion: run.targetVersion,
    input: run.input,
    status: run.status,
    usage: run.usage,
    costUsd: run.costUsd,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    schemaVersion: run.schemaVersion,
  };
  if (optionals.output !== undefined) record.output = optionals.output;
  if (optionals.error !== undefined) record.error = optionals.error;
  if (optionals.threadId !== undefined) record.threadId = optionals.threadId;
  if (optionals.source !== undefined) record.source = optionals.source;
  if (optionals.endedAt !== undefined) record.endedAt = optionals.endedAt;
  if (optionals.wakeAt !== undefined) record.wakeAt = optionals.wakeAt;
  if (optionals.leaseOwner !== undefined) record.leaseOwner = optionals.leaseOwner;
  if (optionals.leaseExpiresAt !== undefined) record.leaseExpiresAt = optionals.leaseExpiresAt;
  if (optionals.trace !== undefined) record.trace = optionals.trace;
  return record;
}

/** A new record with the patch applied: absent fields keep their value, `null` clears. */
function applyPatch(current: RunRecord, patch: RunPatch, now: number): RunRecord {
  const next = copyRun(current, {
    output: patch.output === undefined ? current.output : patch.output,
    error: patch.error === undefined ? current.error : (patch.error ?? undefined),
    threadId: current.threadId,
    source: current.source,
    trace: current.trace,
    endedAt: patch.endedAt === undefined ? current.endedAt : (patch.endedAt ?? undefined),
    wakeAt: patch.wakeAt === undefined ? current.wakeAt : (patch.wakeAt ?? undefined),
    leaseOwner: patch.leaseOwner === undefined ? current.leaseOwner : (patch.leaseOwner ?? undefined),
    leaseExpiresAt:
      patch.leaseExpiresAt === undefined ? current.leaseExpiresAt : (patch.leaseExpiresAt ?? undefined),
  });
  next.updatedAt = now;
  if (patch.status !== undefined) next.status = patch.status;
  if (patch.usage !== undefined) next.usage = patch.usage;
  if (patch.costUsd !== undefined) next.costUsd = patch.costUsd;
  return next;
}

/**
 * A shallow copy without absent fields. The common shapes are built as one literal each: an
 * object grown field by field spills into a second allocation, and this store keeps every
 * entry for the life of the process.
 */
function copyEntry(entry: JournalEntry): JournalEntry {
  const { runId, key, name, kind, status, startedAt, endedAt, result, error, meta } = entry;
  if (error === undefined) {
    if (meta === undefined) {
      return result === undefined
        ? { runId, key, name, kind, status, startedAt, endedAt }
        : { runId, key, name, kind, status, startedAt, endedAt, result };
    }
    return result === undefined
      ? { runId, key, name, kind, status, startedAt, endedAt, meta }
      : { runId, key, name, kind, status, startedAt, endedAt, result, meta };
  }
  const copy: JournalEntry = { runId, key, name, kind, status, startedAt, endedAt, error };
  if (result !== undefined) copy.result = result;
  if (meta !== undefined) copy.meta = meta;
  return copy;
}

/** A lease blocks `owner` while another owner holds it and `now` is before its expiry. */
function leaseHeldByOther(record: RunRecord, owner: string, now: number): boolean {
  return (
    record.leaseOwner !== undefined &&
    record.leaseOwner !== owner &&
    record.leaseExpiresAt !== undefined &&
    now < record.leaseExpiresAt
  );
}

/** The fence's owner holds the run's lease at the fence's time. */
function holdsLease(record: RunRecord, fence: LeaseFence): boolean {
  return (
    record.leaseOwner === fence.owner &&
    record.leaseExpiresAt !== undefined &&
    fence.now < record.leaseExpiresAt
  );
}

/** When a live run became recoverable, or `undefined` if it is not recoverable at `now`. */
function dueAt(record: RunRecord, now: number): number | undefined {
  if (record.status === 'running') {
    if (record.leaseOwner === undefined || record.leaseExpiresAt === undefined) return record.updatedAt;
    return record.leaseExpiresAt <= now ? record.leaseExpiresAt : undefined;
  }
  if (record.status === 'suspended' && record.wakeAt !== undefined && record.wakeAt <= now) {
    return record.wakeAt;
  }
  return undefined;
}

function statusMatches(wanted: RunStatus | readonly RunStatus[], status: RunStatus): boolean {
  return typeof wanted === 'string' ? wanted === status : wanted.includes(status);
}

function newestFirst(a: RunRecord, b: RunRecord): number {
  return b.createdAt - a.createdAt || compareIds(b.id, a.id);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function normalizeLimit(limit: number): number {
  return Math.max(0, Math.floor(limit));
}
