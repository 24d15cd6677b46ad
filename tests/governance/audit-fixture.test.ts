/** The frozen audit log of format 1 (tests/fixtures/audit/v1): still verified, still tamper-evident, and written the same way today. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEntry, Store } from '../../src/core/store.js';
import { auditKeyStream, auditStream, createAuditWriter } from '../../src/governance/audit.js';
import { verifyAudit } from '../../src/governance/audit-verify.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

const folder = join(import.meta.dirname, '..', 'fixtures', 'audit', 'v1');
const read = <T>(name: string): T => JSON.parse(readFileSync(join(folder, name), 'utf8')) as T;
const journal = read<JournalEntry[]>('journal.json');
const plain = read<string[]>('plain.json');
const keyed = read<string[]>('keyed.json');
const key = 'fixture-key-0123456789abcdef';
const runId = 'run_fixture_audit_v1';

/** A memory store holding the fixture's journal and the given stored audit records. */
async function storeWith(records: readonly string[], keyedLog = false): Promise<Store> {
  const store = createMemoryStore();
  for (const entry of journal) await store.appendJournal(entry);
  if (keyedLog) await store.appendRecord(auditKeyStream(runId), { mac: 'hmac-sha256' }, 1);
  for (const text of records) await store.appendRecord(auditStream(runId), JSON.parse(text), 1);
  return store;
}

/** The records today's writer stores for the fixture's journal, as stored JSON text. */
async function writtenNow(options: { key?: string }): Promise<string[]> {
  const store = createMemoryStore();
  const write = createAuditWriter(store, options)({ runId, startedEmpty: true });
  for (const entry of journal) await write(entry);
  return (await store.readRecords(auditStream(runId))).map((record) => JSON.stringify(record.data));
}

describe('the audit log of format 1', () => {
  it('covers every audited kind of step', () => {
    const types = new Set(plain.map((text) => (JSON.parse(text) as { type: string }).type));
    expect([...types].sort()).toEqual([
      'approval-requested',
      'approval-timeout',
      'approved',
      'child-run',
      'denial',
      'handoff',
      'model-decision',
      'model-error',
      'rejected',
      'signal',
      'tool-call',
    ]);
  });

  it('verifies as written, plain and keyed', async () => {
    const report = await verifyAudit(await storeWith(plain), runId);
    expect(report).toMatchObject({ ok: true, entries: plain.length, keyed: false });
    expect(report.head).toBe((JSON.parse(plain.at(-1) ?? '{}') as { hash: string }).hash);
    const keyedReport = await verifyAudit(await storeWith(keyed, true), runId, { key });
    expect(keyedReport).toMatchObject({ ok: true, entries: keyed.length, keyed: true });
  });

  it('catches an edited entry in it', async () => {
    const edited = plain.map((text, index) =>
      index === 3 ? text.replace('"total":129', '"total":1') : text,
    );
    expect(edited[3]).not.toBe(plain[3]);
    const report = await verifyAudit(await storeWith(edited), runId);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ kind: 'edited', index: 4 });
  });

  it('is what the writer stores today for the same journal, byte for byte', async () => {
    expect(await writtenNow({})).toEqual(plain);
    expect(await writtenNow({ key })).toEqual(keyed);
  });
});
