/** The Postgres memory index: the shared MemoryIndex conformance suite and BM25 scores equal to the other indexes, on the real local server. */

import { describe, expect, it } from 'vitest';
import { createInMemoryIndex } from '../../src/memory/in-memory-index.js';
import type { MemoryIndex } from '../../src/memory/memory-index.js';
import { createPostgresMemoryIndex, createPostgresStore } from '../../src/stores/postgres/index.js';
import { memoryIndexConformance, rankingItems } from '../memory/memory-index-conformance.js';
import { admin, freshSchema, postgresUrl, useSharedServer } from './postgres-database.js';

useSharedServer();

const index = (schema = freshSchema()): MemoryIndex =>
  createPostgresMemoryIndex({ connectionString: postgresUrl, schema });

memoryIndexConformance('createPostgresMemoryIndex', () => index());

describe('createPostgresMemoryIndex', () => {
  it('scores exactly as the in-memory index (and so SQLite FTS5 bm25())', async () => {
    const postgres = index();
    const memory = createInMemoryIndex();
    for (const item of rankingItems) {
      await postgres.put(item);
      await memory.put(item);
    }
    for (const query of ['invoice email', 'email', 'the customer']) {
      const fromPostgres = await postgres.searchText(query, { scope: 'user:a', limit: 10 });
      const fromMemory = await memory.searchText(query, { scope: 'user:a', limit: 10 });
      expect(fromPostgres.map((hit) => hit.id)).toEqual(fromMemory.map((hit) => hit.id));
      for (const [position, hit] of fromPostgres.entries())
        expect(hit.score).toBeCloseTo(fromMemory[position]!.score, 9);
    }
    await postgres.close();
  });

  it('lives in the run store’s schema (migration 2) and finds candidates through the GIN-indexed tsvector', async () => {
    const schema = freshSchema();
    const store = createPostgresStore({ connectionString: postgresUrl, schema });
    await store.appendRecord('thread:t1', { hello: 'world' });
    const memories = index(schema);
    await memories.put({ id: 'm1', text: 'Prefers invoices by email', scope: 'user:u1', createdAt: 1 });
    const { rows } = await admin.query<{ tsv: string }>(`SELECT tsv::text FROM "${schema}".memory_items`);
    expect(rows).toEqual([{ tsv: "'by' 'email' 'invoices' 'prefers'" }]);
    expect((await memories.searchText('EMAIL', { scope: 'user:u1', limit: 5 })).map((hit) => hit.id)).toEqual(
      ['m1'],
    );
    await memories.close();
    await store.close();
  });
});
