/** verifyAudit(): recomputes a run's audit chain and finds the first edited, inserted or deleted entry. */

import { ConfigError } from '../core/errors.js';
import type { JournalEntry, Store } from '../core/store.js';
import {
  type AuditEntry,
  type AuditKey,
  auditBodies,
  auditGenesis,
  auditHash,
  auditKeyStream,
  auditStream,
} from './audit.js';
import { canonicalJson } from './canonical-json.js';

/**
 * What is wrong with a chain: an entry whose content no longer matches its hash (`edited`),
 * an entry that does not belong where it is (`inserted`), entries that are gone
 * (`deleted`, including from the end: journal steps whose audit entries are missing), or an
 * entry that no longer says what the journal step it records says (`diverged`: the journal,
 * or the entry and its chain, changed after the step was audited).
 *
 * @example
 * ```ts
 * if (report.problem?.kind === 'deleted') console.log(`entry #${report.problem.index} was deleted`);
 * ```
 */
export interface AuditProblem {
  kind: 'edited' | 'inserted' | 'deleted' | 'diverged';
  /** The chain position (from 1) of the first bad or missing entry. */
  index: number;
  message: string;
}

/**
 * The result of `verifyAudit`.
 *
 * @example
 * ```ts
 * const report = await verifyAudit(store, runId);
 * if (!report.ok) throw new Error(report.problem?.message);
 * ```
 */
export interface AuditReport {
  runId: string;
  ok: boolean;
  /** Entries in the stream. */
  entries: number;
  /** The last entry's hash: keep it elsewhere to anchor the chain. */
  head: string;
  /** True when the entries are HMACs under a key (checked with the key given). */
  keyed: boolean;
  problem?: AuditProblem;
}

/**
 * Recomputes every hash of `audit:<runId>` and checks each link, each position and, against
 * the run's journal, that each entry says what the journal step it records says (agent,
 * step, time and data) and that no entry is missing at the end. Returns the first problem found.
 * With `key`, every entry must be an HMAC under it; a keyed log (one whose writer recorded so
 * in `audit-key:<runId>`, or with keyed entries) checked without its key throws a
 * `ConfigError` coded `AUDIT_KEY_REQUIRED`, even when its entries were stripped of their MACs.
 * A run with no audit entries but auditable journal steps fails too (audit was off, or the
 * whole stream was deleted).
 *
 * @example
 * ```ts
 * const report = await verifyAudit(store, runId);
 * console.log(report.ok ? `intact, ${report.entries} entries` : report.problem?.message);
 * ```
 */
export async function verifyAudit(
  store: Store,
  runId: string,
  options: { key?: AuditKey } = {},
): Promise<AuditReport> {
  const key = options.key;
  const [records, journal, keyMarkers] = await Promise.all([
    store.readRecords(auditStream(runId)),
    store.loadJournal(runId),
    store.readRecords(auditKeyStream(runId), { limit: 1 }),
  ]);
  if (key === undefined && keyMarkers.length > 0)
    throw new ConfigError(
      `The audit log of run ${runId} was written with a key (HMAC-SHA256, recorded in ${auditKeyStream(runId)}): ` +
        'verify it with that key (BATON_AUDIT_KEY for the CLI). Without the key, a log stripped of its MACs and re-chained with plain sha256 would look intact.',
      { code: 'AUDIT_KEY_REQUIRED', runId },
    );
  const expected = new Set(
    journal.flatMap((entry) => auditBodies(entry).map((body) => `${entry.key}\u0000${body.type}`)),
  );
  const journalByKey = new Map(journal.map((entry) => [entry.key, entry]));
  let prev = auditGenesis;
  const report = (problem?: AuditProblem): AuditReport => ({
    runId,
    ok: problem === undefined,
    entries: records.length,
    head: prev,
    keyed: key !== undefined,
    ...(problem === undefined ? {} : { problem }),
  });
  const audited = new Set<string>();
  for (const [offset, record] of records.entries()) {
    const position = offset + 1;
    const entry = record.data as AuditEntry;
    const label = (index: number, item: AuditEntry = entry) =>
      `entry #${index} (${item?.type ?? 'unknown'} at step ${item?.key ?? '?'})`;
    if (typeof entry !== 'object' || entry === null || typeof entry.hash !== 'string') {
      return report({
        kind: 'inserted',
        index: position,
        message: `Entry #${position} is not an audit entry.`,
      });
    }
    if (record.seq > position || entry.index > position) {
      return report({
        kind: 'deleted',
        index: position,
        message: `Entry #${position} was deleted: after entry #${position - 1} the chain continues with entry #${entry.index} (stream seq ${record.seq}).`,
      });
    }
    if (entry.index < position || record.seq < position) {
      return report({
        kind: 'inserted',
        index: position,
        message: `An entry was inserted at position ${position}: it claims index ${entry.index}.`,
      });
    }
    // With a key, every entry must be keyed: otherwise one could edit an entry and re-chain the
    // rest with plain sha256, which needs no secret.
    if (key !== undefined && entry.mac !== 'hmac-sha256') {
      return report({
        kind: 'edited',
        index: position,
        message: `${label(position)} is not keyed: it was rewritten without the audit key (or the run was audited without one).`,
      });
    }
    if (auditHash(entry, key) !== entry.hash) {
      return report({
        kind: 'edited',
        index: position,
        message: `${label(position)} was edited: its content no longer matches its hash${key === undefined ? '' : ' (or the key is not the one the log was written with)'}.`,
      });
    }
    if (entry.prev !== prev) {
      const previous = records[offset - 1]?.data as AuditEntry | undefined;
      return report({
        kind: 'edited',
        index: position - 1,
        message: `${label(position - 1, previous)} was replaced: entry #${position} was chained to a different hash.`,
      });
    }
    if (entry.runId !== runId) {
      return report({
        kind: 'inserted',
        index: position,
        message: `${label(position)} belongs to run ${entry.runId}, not ${runId}.`,
      });
    }
    const identity = `${entry.key}\u0000${entry.type}`;
    if (!expected.has(identity) || audited.has(identity)) {
      return report({
        kind: 'inserted',
        index: position,
        message: `${label(position)} was inserted: the run's journal has no ${audited.has(identity) ? 'second ' : ''}${entry.type} at step ${entry.key}.`,
      });
    }
    const divergence = divergenceFrom(entry, journalByKey.get(entry.key));
    if (divergence !== undefined) {
      return report({
        kind: 'diverged',
        index: position,
        message: `${label(position)} does not match the journal: ${divergence}. The journal (or this entry, re-chained) was changed after the step was audited.`,
      });
    }
    audited.add(identity);
    prev = entry.hash;
  }
  for (const journaled of journal) {
    for (const body of auditBodies(journaled)) {
      if (!audited.has(`${journaled.key}\u0000${body.type}`)) {
        const index = records.length + 1;
        return report({
          kind: 'deleted',
          index,
          message:
            records.length === 0
              ? `Run ${runId} has no audit entries, but its journal has auditable steps (from ${journaled.key} ${journaled.name}): the log was deleted or the run was executed without an audit writer (createRuntime({ audit: createAuditWriter })).`
              : `Entries from #${index} were deleted: journal step ${journaled.key} (${journaled.name}) has no ${body.type} entry after the last one (#${records.length}).`,
        });
      }
    }
  }
  return report();
}

/**
 * How an audit entry differs from what its journal step gives now, or `undefined` when they
 * agree. Both sides are compared as canonical JSON, as the entry was sealed.
 */
function divergenceFrom(entry: AuditEntry, journaled: JournalEntry | undefined): string | undefined {
  if (journaled === undefined) return `the journal has no step ${entry.key}`;
  if (journaled.name !== entry.step)
    return `step ${entry.key} is ${journaled.name} in the journal, ${entry.step} here`;
  if (journaled.endedAt !== entry.at)
    return `step ${entry.key} ended at ${journaled.endedAt} in the journal, ${entry.at} here`;
  const body = auditBodies(journaled).find((candidate) => candidate.type === entry.type);
  if (body === undefined) return `step ${entry.key} gives no ${entry.type} entry`;
  if ((body.agent ?? null) !== (entry.agent ?? null))
    return `step ${entry.key} was taken by agent ${String(body.agent)} in the journal, ${String(entry.agent)} here`;
  const now = canonicalJson(JSON.parse(JSON.stringify(body.data)));
  const recorded = canonicalJson(entry.data);
  if (now === recorded) return undefined;
  return `the journal's step ${entry.key} (${journaled.name}) now gives ${clip(now)}, the entry recorded ${clip(recorded)}`;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
