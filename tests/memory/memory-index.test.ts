import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createInMemoryIndex } from '../../src/memory/in-memory-index.js';
import { createSqliteMemoryIndex, memoryFormatVersion } from '../../src/stores/sqlite/sqlite-memory.js';
import { storeFormatVersion } from '../../src/stores/sqlite/sqlite-schema.js';
import { createSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { memoryIndexConformance, rankingItems } from './memory-index-conformance.js';

const directory = mkdtempSync(join(tmpdir(), 'baton-memory-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;

memoryIndexConformance('createInMemoryIndex', () => createInMemoryIndex());
memoryIndexConformance('createSqliteMemoryIndex', () =>
  createSqliteMemoryIndex({ path: join(directory, `conformance-${files++}.db`) }),
);

describe('createSqliteMemoryIndex', () => {
  it('scores exactly as SQLite FTS5 bm25(), which the in-memory index reproduces', async () => {
    const sqlite = createSqliteMemoryIndex({ path: ':memory:' });
    const memory = createInMemoryIndex();
    for (const item of rankingItems) {
      await sqlite.put(item);
      await memory.put(item);
    }
    const fromSqlite = await sqlite.searchText('invoice email', { scope: 'user:a', limit: 10 });
    const fromMemory = await memory.searchText('invoice email', { scope: 'user:a', limit: 10 });
    expect(fromSqlite.map((hit) => hit.id)).toEqual(fromMemory.map((hit) => hit.id));
    for (const [index, hit] of fromSqlite.entries())
      expect(hit.score).toBeCloseTo(fromMemory[index]!.score, 9);
    await sqlite.close();
  });

  it('keeps memories in the run store’s file without touching its format version, and reopens them', async () => {
    const path = join(directory, 'shared.db');
    const store = createSqliteStore({ path });
    const first = createSqliteMemoryIndex({ path });
    await first.put({
      id: 'm1',
      text: 'Prefers invoices by email',
      scope: 'user:u1',
      createdAt: 1,
      embedding: [1, 2],
    });
    await store.appendRecord('thread:t1', { hello: 'world' });
    await first.close();
    await store.close();

    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(storeFormatVersion);
    expect(db.prepare("SELECT value FROM memory_meta WHERE key = 'format'").get()).toEqual({
      value: String(memoryFormatVersion),
    });
    db.close();

    const reopenedStore = createSqliteStore({ path });
    const reopened = createSqliteMemoryIndex({ path });
    const [hit] = await reopened.searchText('email', { scope: 'user:u1', limit: 1 });
    expect(hit).toMatchObject({ id: 'm1', embedding: [1, 2] });
    expect(await reopenedStore.readRecords('thread:t1')).toHaveLength(1);
    await reopened.close();
    await reopenedStore.close();
  });

  it('refuses memory tables written by a newer Baton, and calls after close', async () => {
    const path = join(directory, 'newer.db');
    const index = createSqliteMemoryIndex({ path });
    await index.close();
    await expect(index.list('user:a')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    const db = new Database(path);
    db.prepare("UPDATE memory_meta SET value = '99' WHERE key = 'format'").run();
    db.close();
    expect(() => createSqliteMemoryIndex({ path })).toThrow(/format version 99/);
  });
});
