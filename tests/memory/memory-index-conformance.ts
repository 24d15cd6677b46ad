/** The conformance suite every MemoryIndex passes (in memory and SQLite FTS5). */

import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryIndex, MemoryItem } from '../../src/memory/memory-index.js';

/** Items of scope `user:a` plus filler in other scopes (term statistics span the whole index, as in FTS5). */
export const rankingItems: MemoryItem[] = [
  { id: 'short-both', text: 'Send the invoice by email', scope: 'user:a', createdAt: 1 },
  { id: 'email-thrice', text: 'email email email preferences', scope: 'user:a', createdAt: 2 },
  {
    id: 'long-both',
    text: 'The customer said that the invoice should go by email, along with a long story about the weather, the trains and the price of coffee in town',
    scope: 'user:a',
    createdAt: 3,
  },
  { id: 'unrelated', text: 'Refund policy for damaged parcels', scope: 'user:a', createdAt: 4 },
  { id: 'email-once', text: 'Reachable by email', scope: 'user:a', createdAt: 5 },
  { id: 'other-scope', text: 'invoice email invoice email', scope: 'user:b', createdAt: 6 },
  ...[
    'Likes green tea',
    'Lives in Lyon',
    'Works nights',
    'Has two cats',
    'Prefers phone calls',
    'Speaks French',
  ].map(
    (text, index): MemoryItem => ({
      id: `filler-${index}`,
      text,
      scope: `agent:filler${index % 2}`,
      createdAt: 10 + index,
    }),
  ),
];

export function memoryIndexConformance(name: string, make: () => MemoryIndex): void {
  describe(`${name} (MemoryIndex conformance)`, () => {
    const opened: MemoryIndex[] = [];
    const open = () => {
      const index = make();
      opened.push(index);
      return index;
    };
    afterEach(async () => {
      for (const index of opened.splice(0)) await index.close();
    });

    it('ranks lexical matches by BM25 (term frequency, rarity and length normalisation)', async () => {
      const index = open();
      for (const item of rankingItems) await index.put(item);
      const hits = await index.searchText('invoice email', { scope: 'user:a', limit: 10 });
      // Both terms in a short memory lead; length normalisation puts three `email`s in four words
      // ahead of both terms buried in 27 words; a single `email` in three words comes last.
      expect(hits.map((hit) => hit.id)).toEqual(['short-both', 'email-thrice', 'long-both', 'email-once']);
      for (const [position, hit] of hits.entries()) {
        expect(hit.via).toBe('lexical');
        if (position > 0) expect(hit.score).toBeLessThan(hits[position - 1]!.score);
      }
      expect(await index.searchText('invoice email', { scope: 'user:a', limit: 2 })).toHaveLength(2);
      expect(await index.searchText('nothing matches this', { scope: 'user:a', limit: 5 })).toEqual([]);
      expect(await index.searchText('  ?! ', { scope: 'user:a', limit: 5 })).toEqual([]);
    });

    it('never returns another scope’s memories', async () => {
      const index = open();
      for (const item of rankingItems) await index.put(item);
      const other = await index.searchText('invoice email', { scope: 'user:b', limit: 10 });
      expect(other.map((hit) => hit.id)).toEqual(['other-scope']);
      expect(await index.searchText('invoice', { scope: 'user:nobody', limit: 10 })).toEqual([]);
      expect((await index.list('user:b')).map((item) => item.id)).toEqual(['other-scope']);
      expect((await index.list('user:a')).map((item) => item.id)).toEqual([
        'short-both',
        'email-thrice',
        'long-both',
        'unrelated',
        'email-once',
      ]);
    });

    it('treats query punctuation and operators as plain words', async () => {
      const index = open();
      await index.put({
        id: 'm',
        text: 'Order A-1001 was refunded (NEAR the end)',
        scope: 'user:a',
        createdAt: 1,
      });
      const hits = await index.searchText('"A-1001" AND NOT OR NEAR(', { scope: 'user:a', limit: 5 });
      expect(hits.map((hit) => hit.id)).toEqual(['m']);
    });

    it('keeps words whole in any script, combining marks included', async () => {
      const index = open();
      // Devanagari vowel signs are combining marks: "चालान" (invoice) must not match the letters
      // it shares with "नया लेख" (a new article).
      await index.put({ id: 'invoice', text: 'ग्राहक के लिए चालान', scope: 'user:a', createdAt: 1 });
      await index.put({ id: 'article', text: 'नया लेख', scope: 'user:a', createdAt: 2 });
      await index.put({ id: 'refund', text: 'Возврат платежа', scope: 'user:a', createdAt: 3 });
      const hindi = await index.searchText('चालान', { scope: 'user:a', limit: 5 });
      expect(hindi.map((hit) => hit.id)).toEqual(['invoice']);
      const russian = await index.searchText('ВОЗВРАТ', { scope: 'user:a', limit: 5 });
      expect(russian.map((hit) => hit.id)).toEqual(['refund']);
    });

    it('replaces an item put again with the same id, and deletes by id', async () => {
      const index = open();
      await index.put({ id: 'm1', text: 'likes tea', scope: 'user:a', createdAt: 1, metadata: { v: 1 } });
      await index.put({ id: 'm1', text: 'likes coffee', scope: 'user:a', createdAt: 2, metadata: { v: 2 } });
      expect(await index.searchText('tea', { scope: 'user:a', limit: 5 })).toEqual([]);
      const [hit] = await index.searchText('coffee', { scope: 'user:a', limit: 5 });
      expect(hit).toMatchObject({ id: 'm1', text: 'likes coffee', metadata: { v: 2 }, createdAt: 2 });
      expect(await index.list('user:a')).toHaveLength(1);
      expect(await index.delete('m1')).toBe(true);
      expect(await index.delete('m1')).toBe(false);
      expect(await index.searchText('coffee', { scope: 'user:a', limit: 5 })).toEqual([]);
    });

    it('ranks vector matches by cosine similarity within the scope, skipping items without vectors', async () => {
      const index = open();
      await index.put({ id: 'x', text: 'x', scope: 'user:a', createdAt: 1, embedding: [1, 0, 0] });
      await index.put({ id: 'xy', text: 'xy', scope: 'user:a', createdAt: 2, embedding: [1, 1, 0] });
      await index.put({ id: 'z', text: 'z', scope: 'user:a', createdAt: 3, embedding: [0, 0, 1] });
      await index.put({ id: 'plain', text: 'no vector', scope: 'user:a', createdAt: 4 });
      await index.put({ id: 'elsewhere', text: 'x', scope: 'user:b', createdAt: 5, embedding: [1, 0, 0] });
      const hits = await index.searchVector([1, 0.1, 0], { scope: 'user:a', limit: 10 });
      expect(hits.map((hit) => hit.id)).toEqual(['x', 'xy', 'z']);
      expect(hits[0]!.score).toBeCloseTo(1 / Math.sqrt(1.01), 6);
      expect(hits[2]!.score).toBe(0);
      expect(hits.every((hit) => hit.via === 'vector')).toBe(true);
      expect(hits[0]!.embedding).toEqual([1, 0, 0]);
    });
  });
}
