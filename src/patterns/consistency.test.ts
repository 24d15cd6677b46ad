import { describe, expect, it } from 'vitest';
import type { UnitResult } from './concurrent.js';
import { consistencyOf } from './consistency.js';

/** Unit results whose outputs count how often anything reads them. */
function countedResults(texts: readonly string[]) {
  let reads = 0;
  const results: UnitResult[] = texts.map((text, index) => ({
    unit: `u${index}`,
    ok: true,
    output: {
      get text() {
        reads++;
        return text;
      },
    },
  }));
  return { results, reads: () => reads };
}

describe('consistencyOf', () => {
  it('computes nothing until a field is read, and each part only once', () => {
    const { results, reads } = countedResults(['red', 'red', 'blue']);
    const info = consistencyOf(results, undefined, 'agreement');
    expect(reads()).toBe(0);

    expect(info.agreement).toBeCloseTo(2 / 3);
    const afterVote = reads();
    expect(afterVote).toBeGreaterThan(0);
    expect(info.consistency).toBeCloseTo(2 / 3);
    expect(info.vote.votes.map((tally) => tally.units)).toEqual([['u0', 'u1'], ['u2']]);
    // The agreement measure needs no pairwise similarity, and the vote is not run twice.
    expect(reads()).toBe(afterVote);

    // Outputs are compared as JSON text: {text, red} and {text, blue} share one token of three.
    expect(info.similarity).toBeCloseTo((1 + 1 / 3 + 1 / 3) / 3);
    const afterSimilarity = reads();
    expect(afterSimilarity).toBeGreaterThan(afterVote);
    expect(info.similarity).toBeCloseTo((1 + 1 / 3 + 1 / 3) / 3);
    expect(reads()).toBe(afterSimilarity);
  });

  it('spreads into plain values, in the order the fields are listed', () => {
    const results: UnitResult[] = [
      { unit: 'a', ok: true, output: 'The cat sat.' },
      { unit: 'b', ok: true, output: 'the CAT ran' },
      { unit: 'c', ok: false, error: 'down' },
    ];
    const spread = { ...consistencyOf(results, { b: 3 }, 'similarity') };
    expect(Object.keys(spread)).toEqual(['consistency', 'measure', 'agreement', 'similarity', 'vote']);
    expect(spread).toEqual({
      consistency: 0.5,
      measure: 'similarity',
      agreement: 0.75,
      similarity: 0.5,
      vote: {
        winner: 'the CAT ran',
        votes: [
          { value: 'the CAT ran', key: 'the cat ran', weight: 3, units: ['b'] },
          { value: 'The cat sat.', key: 'the cat sat.', weight: 1, units: ['a'] },
        ],
        consistency: 0.5,
      },
    });
    expect(Object.getOwnPropertyDescriptor(spread, 'vote')?.get).toBeUndefined();
  });
});
