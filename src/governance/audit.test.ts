import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { waitForStatus } from '../testing/wait-until.js';
import { tool } from '../tools/tool.js';
import {
  type AuditEntry,
  auditGenesis,
  auditHash,
  auditStream,
  canonicalJson,
  createAuditWriter,
  readAudit,
} from './audit.js';
import { verifyAudit } from './audit-verify.js';

const scratch = mkdtempSync(join(tmpdir(), 'baton-audit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A triage agent that hands off to billing, which looks up the order and refunds it after approval. */
function team() {
  const lookup = tool({
    name: 'lookup_order',
    description: 'Looks up an order',
    input: z.object({ orderId: z.string() }),
    execute: ({ orderId }) => ({ id: orderId, total: 129 }),
  });
  const refund = tool({
    name: 'refund',
    description: 'Refunds an order',
    input: z.object({ orderId: z.string() }),
    approval: 'always',
    execute: ({ orderId }) => ({ refundId: `RF-${orderId}` }),
  });
  const model = scriptedModel({
    triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
    billing: [
      { toolCalls: [{ tool: 'lookup_order', input: { orderId: 'A-1' } }] },
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1' }, id: 'call_refund' }] },
      { text: 'Refunded A-1.' },
    ],
  });
  const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [lookup, refund] });
  return agent({ name: 'triage', instructions: 'Route.', model, handoffs: [billing] });
}

const expectedTypes = [
  'model-decision',
  'handoff',
  'model-decision',
  'tool-call',
  'model-decision',
  'approval-requested',
  'approved',
  'tool-call',
  'model-decision',
];

describe('audit log', () => {
  it('chains every decision, handoff, tool call and approval once, across a suspension and replay', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false, audit: createAuditWriter });
    const handle = await runtime.start(team(), 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    await runtime.signal(handle.runId, 'approval:call_refund', { approved: true, by: 'ana' });
    expect(await handle.result()).toBe('Refunded A-1.');
    const entries = await readAudit(store, handle.runId);
    expect(entries.map((entry) => entry.type)).toEqual(expectedTypes);
    expect(entries.map((entry) => entry.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(entries[0]?.prev).toBe(auditGenesis);
    for (const [index, entry] of entries.entries()) {
      expect(entry.hash).toBe(auditHash(entry));
      if (index > 0) expect(entry.prev).toBe(entries[index - 1]?.hash);
    }
    expect(entries[1]).toMatchObject({ agent: 'triage', data: { from: 'triage', to: 'billing' } });
    expect(entries[6]).toMatchObject({ type: 'approved', data: { toolCallId: 'call_refund', by: 'ana' } });
    expect(entries[8]).toMatchObject({ data: { decision: 'final-answer', answer: 'Refunded A-1.' } });
    const report = await verifyAudit(store, handle.runId);
    expect(report).toMatchObject({ ok: true, entries: 9, head: entries[8]?.hash });
    await runtime.close();
  });

  it('audits, in journal order, what an execution without audit left out, when a run resumes with audit', async () => {
    const store = createMemoryStore();
    const plain = createRuntime({ store, recover: false });
    const handle = await plain.start(team(), 'Refund A-1');
    await waitForStatus(plain, handle.runId);
    expect(await readAudit(store, handle.runId)).toEqual([]);
    expect((await verifyAudit(store, handle.runId)).problem?.message).toContain('has no audit entries');
    await plain.close();
    const audited = createRuntime({ store, recover: false, audit: createAuditWriter });
    audited.register(team());
    await audited.signal(handle.runId, 'approval:call_refund', true);
    await (await audited.resume(handle.runId)).result();
    expect((await readAudit(store, handle.runId)).map((entry) => entry.type)).toEqual(expectedTypes);
    expect((await verifyAudit(store, handle.runId)).ok).toBe(true);
    await audited.close();
  });

  it('catches an entry edited, deleted or inserted by hand in the SQLite file, and a journal step edited after it was audited', async () => {
    const path = join(scratch, 'audited.db');
    const store = createSqliteStore({ path });
    const runtime = createRuntime({ store, recover: false, audit: createAuditWriter });
    const handle = await runtime.start(team(), 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    await runtime.signal(handle.runId, 'approval:call_refund', true);
    await handle.result();
    const runId = handle.runId;
    expect((await verifyAudit(store, runId)).ok).toBe(true);
    await runtime.close();
    await store.close();
    const stream = auditStream(runId);

    /** Copies the intact file, applies `edit` with plain SQL, and verifies the copy. */
    const tampered = async (name: string, edit: (db: Database.Database) => void) => {
      const copy = join(scratch, `${name}.db`);
      copyFileSync(path, copy);
      const db = new Database(copy);
      edit(db);
      db.close();
      const reopened = createSqliteStore({ path: copy });
      try {
        return await verifyAudit(reopened, runId);
      } finally {
        await reopened.close();
      }
    };
    const dataAt = (db: Database.Database, seq: number) =>
      JSON.parse(
        (
          db.prepare('SELECT data FROM records WHERE stream = ? AND seq = ?').get(stream, seq) as {
            data: string;
          }
        ).data,
      );
    const setData = (db: Database.Database, seq: number, data: unknown) =>
      db
        .prepare('UPDATE records SET data = ? WHERE stream = ? AND seq = ?')
        .run(JSON.stringify(data), stream, seq);

    // Edited: the refund's tool output (entry 8) changed.
    const edited = await tampered('edited', (db) => {
      const entry = dataAt(db, 8);
      entry.data.output = { refundId: 'RF-SOMEONE-ELSE' };
      setData(db, 8, entry);
    });
    expect(edited).toMatchObject({ ok: false, problem: { kind: 'edited', index: 8 } });
    expect(edited.problem?.message).toMatch(/entry #8 \(tool-call at step .*\) was edited/);

    // Edited with a recomputed hash: the journal step it records (and the next entry's link) gives it away.
    const forged = await tampered('forged', (db) => {
      const entry = dataAt(db, 7);
      entry.data.by = 'mallory';
      entry.hash = auditHash(entry);
      setData(db, 7, entry);
    });
    expect(forged).toMatchObject({ ok: false, problem: { kind: 'diverged', index: 7 } });
    expect(forged.problem?.message).toMatch(
      /now gives \{"approved":true,.*the entry recorded .*"by":"mallory"/,
    );

    // The journal edited after the step was audited: the approved refund's arguments now differ.
    const journalEdited = await tampered('journal-edited', (db) => {
      db.prepare(
        "UPDATE journal SET result = json_set(result, '$.input.orderId', 'A-2') WHERE name = 'approval:refund'",
      ).run();
    });
    expect(journalEdited).toMatchObject({ ok: false, problem: { kind: 'diverged', index: 6 } });
    expect(journalEdited.problem?.message).toMatch(
      /entry #6 \(approval-requested at step .*\) does not match the journal: .*"orderId":"A-2".*"orderId":"A-1"/,
    );

    // Deleted from the middle: the approval decision (entry 7).
    const deleted = await tampered('deleted', (db) => {
      db.prepare('DELETE FROM records WHERE stream = ? AND seq = 7').run(stream);
    });
    expect(deleted).toMatchObject({ ok: false, problem: { kind: 'deleted', index: 7 } });

    // Deleted from the end: the journal still has the final answer.
    const truncated = await tampered('truncated', (db) => {
      db.prepare('DELETE FROM records WHERE stream = ? AND seq = 9').run(stream);
    });
    expect(truncated).toMatchObject({ ok: false, problem: { kind: 'deleted', index: 9 } });
    expect(truncated.problem?.message).toContain('model:billing');

    // Inserted: a well-chained entry appended for a step that never happened.
    const inserted = await tampered('inserted', (db) => {
      const last = dataAt(db, 9);
      const fake = {
        ...last,
        index: 10,
        key: 'r#99',
        type: 'approved',
        data: { by: 'mallory' },
        prev: last.hash,
      };
      fake.hash = auditHash(fake);
      db.prepare('INSERT INTO records (stream, seq, at, data) VALUES (?, 10, 0, ?)').run(
        stream,
        JSON.stringify(fake),
      );
    });
    expect(inserted).toMatchObject({ ok: false, problem: { kind: 'inserted', index: 10 } });

    // Untouched copy: intact.
    expect((await tampered('intact', () => undefined)).ok).toBe(true);
  });

  it('hashes canonical JSON: key order and a JSON round trip do not change the text', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, skip: undefined })).toBe(
      '{"a":{"c":true,"d":[1,"x",null]},"b":1}',
    );
    const entry = {
      index: 1,
      runId: 'r',
      key: 'r#0',
      step: 's',
      type: 'denial' as const,
      at: 1,
      data: { z: 1, a: 2 },
      prev: auditGenesis,
    };
    expect(auditHash(entry)).toBe(auditHash(JSON.parse(JSON.stringify({ ...entry, data: { a: 2, z: 1 } }))));
    expect(auditHash(entry)).not.toBe(auditHash({ ...entry, data: { z: 1, a: 3 } }));
  });

  it('with a key, catches an edit whose whole chain was re-hashed, which a plain chain cannot', async () => {
    const key = 'k'.repeat(32);
    const rechain = async (
      store: ReturnType<typeof createMemoryStore>,
      runId: string,
      edit: (entry: AuditEntry) => void,
    ) => {
      // What someone with write access to the store does: edit an entry, then recompute every
      // hash and link after it with plain sha256 (no key needed), into a fresh stream.
      const forged = createMemoryStore();
      await forged.createRun((await store.getRun(runId))!);
      // The journal step the edited entry records is edited the same way, so the two agree.
      for (const entry of await store.loadJournal(runId)) {
        const payload = (entry.result as { payload?: { by?: string } } | undefined)?.payload;
        if (entry.name === 'waitFor:approval:call_refund' && payload !== undefined) payload.by = 'mallory';
        await forged.appendJournal(entry);
      }
      let prev = auditGenesis;
      for (const entry of await readAudit(store, runId)) {
        const copy: AuditEntry = { ...entry, prev };
        delete copy.mac;
        edit(copy);
        copy.hash = auditHash(copy);
        prev = copy.hash;
        await forged.appendRecord(auditStream(runId), copy, copy.at);
      }
      return forged;
    };
    const steal = (entry: AuditEntry) => {
      if (entry.type === 'approved') entry.data = { ...entry.data, by: 'mallory' };
    };

    const plainStore = createMemoryStore();
    const plain = createRuntime({ store: plainStore, recover: false, audit: createAuditWriter });
    const first = await plain.start(team(), 'Refund A-1');
    await waitForStatus(plain, first.runId);
    await plain.signal(first.runId, 'approval:call_refund', { approved: true, by: 'ana' });
    await first.result();
    // The plain chain is fooled: every hash and link is consistent again.
    expect((await verifyAudit(await rechain(plainStore, first.runId, steal), first.runId)).ok).toBe(true);
    await plain.close();

    const keyedStore = createMemoryStore();
    const keyed = createRuntime({
      store: keyedStore,
      recover: false,
      audit: (store) => createAuditWriter(store, { key }),
    });
    const second = await keyed.start(team(), 'Refund A-1');
    await waitForStatus(keyed, second.runId);
    await keyed.signal(second.runId, 'approval:call_refund', { approved: true, by: 'ana' });
    await second.result();
    const entries = await readAudit(keyedStore, second.runId);
    expect(entries.every((entry) => entry.mac === 'hmac-sha256')).toBe(true);
    expect(entries.every((entry) => entry.hash === auditHash(entry, key))).toBe(true);
    expect(await verifyAudit(keyedStore, second.runId, { key })).toMatchObject({
      ok: true,
      keyed: true,
      entries: 9,
    });
    // Without the key a keyed log cannot be checked; with another key nothing matches.
    await expect(verifyAudit(keyedStore, second.runId)).rejects.toMatchObject({ code: 'AUDIT_KEY_REQUIRED' });
    const wrong = await verifyAudit(keyedStore, second.runId, { key: 'x'.repeat(32) });
    expect(wrong).toMatchObject({ ok: false, problem: { kind: 'edited', index: 1 } });
    expect(wrong.problem?.message).toContain('or the key is not the one');
    // The re-chained forgery is caught at its first entry: it is not keyed.
    const forged = await verifyAudit(await rechain(keyedStore, second.runId, steal), second.runId, { key });
    expect(forged).toMatchObject({ ok: false, problem: { kind: 'edited', index: 1 } });
    expect(forged.problem?.message).toMatch(/is not keyed/);
    await keyed.close();
  });

  it('refuses to call a keyed log intact without its key after it was downgraded in place (MACs stripped, re-chained with sha256)', async () => {
    const key = 'k'.repeat(32);
    const path = join(scratch, 'downgraded.db');
    const store = createSqliteStore({ path });
    const runtime = createRuntime({
      store,
      recover: false,
      audit: (auditStore) => createAuditWriter(auditStore, { key }),
    });
    const handle = await runtime.start(team(), 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    await runtime.signal(handle.runId, 'approval:call_refund', true);
    await handle.result();
    await runtime.close();
    await store.close();
    const db = new Database(path);
    const rows = db
      .prepare('SELECT seq, data FROM records WHERE stream = ? ORDER BY seq')
      .all(auditStream(handle.runId)) as Array<{ seq: number; data: string }>;
    let prev = auditGenesis;
    for (const row of rows) {
      const entry = JSON.parse(row.data) as AuditEntry;
      delete entry.mac;
      entry.prev = prev;
      entry.hash = auditHash(entry);
      prev = entry.hash;
      db.prepare('UPDATE records SET data = ? WHERE stream = ? AND seq = ?').run(
        JSON.stringify(entry),
        auditStream(handle.runId),
        row.seq,
      );
    }
    db.close();
    const reopened = createSqliteStore({ path });
    await expect(verifyAudit(reopened, handle.runId)).rejects.toMatchObject({
      code: 'AUDIT_KEY_REQUIRED',
      message: expect.stringContaining(`The audit log of run ${handle.runId} was written with a key`),
    });
    expect(await verifyAudit(reopened, handle.runId, { key })).toMatchObject({
      ok: false,
      problem: { kind: 'edited', index: 1 },
    });
    await reopened.close();
  });

  it('refuses a short or missing key with an error that says what to use', () => {
    const store = createMemoryStore();
    expect(() => createAuditWriter(store, { key: 'short' })).toThrow(
      /at least 16 characters\/bytes \(got 5\)/,
    );
    expect(() => createAuditWriter(store, { key: 42 as unknown as string })).toThrow(/openssl rand -hex 32/);
  });

  it('seals entries whose data is not plain JSON (dates, NaN, undefined, class instances) so they verify after storage', async () => {
    const store = createMemoryStore();
    const write = createAuditWriter(store)({ runId: 'run_x', startedEmpty: true });
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const outputs: unknown[] = [
      { z: 1, a: { c: [1, 'x', null], b: true }, skip: undefined, é: 'ü', '\u2028': '"' },
      { at: new Date(0), n: Number.NaN, list: [undefined, 1], nested: { toJSON: () => 'json' } },
      new Point(1, 2),
      [{ b: 2, a: 1 }, -0, 1e21, 'x'],
      'text',
      null,
    ];
    for (const [index, output] of outputs.entries()) {
      await write({
        runId: 'run_x',
        key: `r#${index}`,
        name: 'tool:t',
        kind: 'tool',
        status: 'completed',
        result: output,
        startedAt: 1,
        endedAt: 2 + index,
        meta: index % 2 === 0 ? { agent: 'a', tool: 't' } : { tool: 't' },
      });
    }
    const entries = await readAudit(store, 'run_x');
    expect(entries).toHaveLength(outputs.length);
    for (const entry of entries) expect(entry.hash).toBe(auditHash(entry));
    expect(entries[1]?.data).toEqual({
      tool: 't',
      status: 'completed',
      output: { at: '1970-01-01T00:00:00.000Z', n: null, list: [null, 1], nested: 'json' },
    });
    expect(entries[2]?.data.output).toEqual({ x: 1, y: 2 });
  });

  it('seals keys and step names that need escaping in JSON (quotes, backslashes, control characters, lone surrogates) so they verify', async () => {
    const store = createMemoryStore();
    const write = createAuditWriter(store)({ runId: 'run_q', startedEmpty: true });
    const names = [
      'tool:say "hi"',
      'tool:back\\slash',
      'tool:tab\there',
      'tool:lone \ud800 half',
      'tool:pair 😀',
      'tool:plain',
    ];
    for (const [index, name] of names.entries()) {
      await write({
        runId: 'run_q',
        key: `r#${index}/${name}`,
        name,
        kind: 'tool',
        status: 'completed',
        result: index,
        startedAt: 1,
        endedAt: 2,
        meta: { agent: 'a"b' },
      });
    }
    const entries = await readAudit(store, 'run_q');
    expect(entries.map((entry) => entry.step)).toEqual(names);
    for (const entry of entries) expect(entry.hash).toBe(auditHash(entry));
  });
  it('writes model decisions and tool calls whose strings need escaping as canonical JSON, so they verify', async () => {
    const store = createMemoryStore();
    const write = createAuditWriter(store)({ runId: 'run_m', startedEmpty: true });
    const results: Array<{ kind: 'model' | 'tool'; result?: unknown; error?: string }> = [
      { kind: 'model', result: { text: 'say "hi"\u2028\ud800', model: 'm:"x"' } },
      { kind: 'model', result: { text: '' } },
      {
        kind: 'model',
        result: {
          text: 'calling \\ both',
          model: 'fake',
          toolCalls: [
            { toolCallId: 'c"1', toolName: 'add', input: '{"a":2,"b":"\\n"}' },
            { toolCallId: 'c2', toolName: 'transfer_to_billing', input: '{}' },
          ],
        },
      },
      { kind: 'tool', result: 'out "quoted" \t' },
      { kind: 'tool', result: -0 },
      { kind: 'tool', result: 1e21 },
      { kind: 'tool', result: false },
      { kind: 'tool' },
      { kind: 'tool', error: 'failed "badly"' },
    ];
    for (const [index, { kind, result, error }] of results.entries()) {
      await write({
        runId: 'run_m',
        key: `r#${index}`,
        name: kind === 'model' ? 'model:a' : 'tool:t "x"',
        kind,
        status: error === undefined ? 'completed' : 'failed',
        ...(result === undefined ? {} : { result }),
        ...(error === undefined ? {} : { error: { name: 'Error', message: error } }),
        startedAt: 1,
        endedAt: 2,
        meta: { agent: 'a', tool: 't "x"' },
      });
    }
    const entries = await readAudit(store, 'run_m');
    expect(entries.map((entry) => entry.type)).toEqual([
      'model-decision',
      'model-decision',
      'model-decision',
      'handoff',
      'tool-call',
      'tool-call',
      'tool-call',
      'tool-call',
      'tool-call',
      'tool-call',
    ]);
    for (const entry of entries) expect(entry.hash).toBe(auditHash(entry));
    expect(entries[2]?.data).toEqual({
      decision: 'tool-calls',
      model: 'fake',
      text: 'calling \\ both',
      toolCalls: [
        { id: 'c"1', input: '{"a":2,"b":"\\n"}', tool: 'add' },
        { id: 'c2', input: '{}', tool: 'transfer_to_billing' },
      ],
    });
    expect(entries.map((entry) => entry.data.output)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      'out "quoted" \t',
      0,
      1e21,
      false,
      null,
      undefined,
    ]);
  });

  it('seals an entry for its own write; a refused write takes its records back out of the chain', async () => {
    const store = createMemoryStore();
    const chain = createAuditWriter(store).openChain({ runId: 'run_s', startedEmpty: true });
    const entry = (index: number) =>
      ({
        runId: 'run_s',
        key: `r#${index}`,
        name: 'tool:t',
        kind: 'tool',
        status: 'completed',
        result: index,
        startedAt: 1,
        endedAt: 2,
      }) as const;
    const first = chain.seal(entry(0));
    expect(first?.records.map((record) => record.stream)).toEqual([auditStream('run_s')]);
    // A second write of the chain is not sealed while the first is in flight.
    expect(chain.seal(entry(1))).toBeUndefined();
    first?.stored(false);
    // Refused: the next entry takes its place at index 1, chained to the genesis.
    const second = chain.seal(entry(1));
    for (const record of second?.records ?? [])
      await store.appendRecord(record.stream, record.data, record.at);
    second?.stored(true);
    await chain.append(entry(2));
    const entries = await readAudit(store, 'run_s');
    expect(entries.map((audited) => [audited.index, audited.key])).toEqual([
      [1, 'r#1'],
      [2, 'r#2'],
    ]);
    expect(entries[0]?.prev).toBe(auditGenesis);
    expect(entries[1]?.prev).toBe(entries[0]?.hash);
  });

  it('appends an entry audited while a sealed write is in flight only after that write, chained to its outcome', async () => {
    for (const written of [true, false]) {
      const store = createMemoryStore();
      const chain = createAuditWriter(store).openChain({ runId: 'run_w', startedEmpty: true });
      const entry = (index: number) =>
        ({
          runId: 'run_w',
          key: `r#${index}`,
          name: 'tool:t',
          kind: 'tool',
          status: 'completed',
          result: index,
          startedAt: 1,
          endedAt: 2,
        }) as const;
      const sealed = chain.seal(entry(0));
      const later = chain.append(entry(1));
      await new Promise((resolve) => setImmediate(resolve));
      expect(await readAudit(store, 'run_w')).toEqual([]);
      if (written)
        for (const record of sealed?.records ?? [])
          await store.appendRecord(record.stream, record.data, record.at);
      sealed?.stored(written);
      await later;
      const entries = await readAudit(store, 'run_w');
      expect(entries.map((audited) => audited.key)).toEqual(written ? ['r#0', 'r#1'] : ['r#1']);
      for (const audited of entries) expect(audited.hash).toBe(auditHash(audited));
      for (const [index, audited] of entries.entries()) {
        expect(audited.index).toBe(index + 1);
        expect(audited.prev).toBe(index === 0 ? auditGenesis : entries[index - 1]?.hash);
      }
    }
  });

  it('stores an agent run’s audit records in the transactions of their journal entries on SQLite: 3 per run', async () => {
    const store = createSqliteStore({ path: join(scratch, 'same-transaction.db') });
    const add = tool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => a + b,
    });
    const script = [{ toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] }, { text: '5' }];
    const calculator = agent({
      name: 'calculator',
      instructions: 'Add.',
      model: scriptedModel([...script, ...script]),
      tools: [add],
    });
    const runtime = createRuntime({ store, recover: false, audit: createAuditWriter });
    expect(await (await runtime.start(calculator, 'What is 2+3?')).result()).toBe('5');
    const before = { ...store.stats };
    const handle = await runtime.start(calculator, 'What is 2+3?');
    expect(await handle.result()).toBe('5');
    // The run with the first model step and its record, the tool step and its record, the final
    // model step, its record and the run's end: one transaction each.
    expect(store.stats.transactions - before.transactions).toBe(3);
    expect(store.stats.journalEntries - before.journalEntries).toBe(3);
    const report = await verifyAudit(store, handle.runId);
    expect([report.ok, report.entries]).toEqual([true, 3]);
    await runtime.close();
    await store.close();
  });
});
