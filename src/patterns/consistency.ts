/** Voting and consistency scoring of concurrent(): tallies of normalized outputs, agreement and pairwise similarity. */

import type { UnitResult } from './concurrent.js';
import { textOf } from './shared.js';

/** One distinct value in a vote (outputs compared after normalization), with who voted for it. */
export interface VoteTally<VALUE = unknown> {
  /** The output of the first unit (in unit order) that gave this value, as it gave it. */
  value: VALUE;
  /** The normalized form the outputs were compared by. */
  key: string;
  /** The votes for it: the number of units, or the sum of their weights in a weighted vote. */
  weight: number;
  /** The units that gave it, in unit order. */
  units: string[];
}

/**
 * The output of a `'vote'` or weighted vote: the winning value, every tally (highest first,
 * ties in unit order) and the consistency score.
 *
 * @example
 * ```ts
 * const { winner, votes, consistency } = await (await runtime.start(jury, claim)).result();
 * if (consistency < 0.6) console.log('split decision', votes.map((tally) => `${tally.key}: ${tally.weight}`));
 * ```
 */
export interface VoteResult<VALUE = unknown> {
  winner: VALUE;
  votes: VoteTally<VALUE>[];
  /** In [0, 1]: by default the share of successful units (or of their weight) that gave the winner. */
  consistency: number;
}

/** How consistency is measured: `agreement` (vote share of the winning value) or `similarity` (token overlap of texts). */
export type ConsistencyMeasure = 'agreement' | 'similarity';

/** What an aggregator function receives besides the results: how much the successful units agree. */
export interface AggregateInfo {
  /** The consistency score in [0, 1], by `measure`; this is what `minConsistency` is checked against. */
  consistency: number;
  measure: ConsistencyMeasure;
  /** Share of successful units (of their weight, in a weighted vote) whose normalized output equals the winner's. */
  agreement: number;
  /** Mean pairwise token-set Jaccard similarity of the successful outputs' texts (1 with fewer than two). */
  similarity: number;
  /** The vote over the successful outputs (a plain majority unless the aggregator is a weighted vote). */
  vote: VoteResult;
}

/**
 * Scores how much the successful outputs agree, and runs the vote. Nothing is computed up front:
 * each field is computed the first time it is read (then kept), so a pattern that never needs the
 * score pays nothing, and one that needs only the vote does not pay for the pairwise similarity.
 */
export function consistencyOf(
  results: readonly UnitResult[],
  weights: Readonly<Record<string, number>> | undefined,
  measure: ConsistencyMeasure,
): AggregateInfo {
  const successes = results.filter((result) => result.ok);
  let tallies: VoteTally[] | undefined;
  let agreement: number | undefined;
  let similarity: number | undefined;
  let vote: VoteResult | undefined;
  const talliesOf = (): VoteTally[] => {
    if (tallies === undefined) tallies = tally(successes, weights);
    return tallies;
  };
  // Getters in the order the fields were always listed, so spreading or printing the info is unchanged.
  const info: AggregateInfo = {
    get consistency() {
      return measure === 'agreement' ? info.agreement : info.similarity;
    },
    measure,
    get agreement() {
      if (agreement === undefined) {
        const votes = talliesOf();
        const sum = votes.reduce((accumulated, entry) => accumulated + entry.weight, 0);
        agreement = sum === 0 ? 1 : votes[0]!.weight / sum;
      }
      return agreement;
    },
    get similarity() {
      if (similarity === undefined)
        similarity = meanJaccard(successes.map((result) => tokens(textOf(result.output))));
      return similarity;
    },
    get vote() {
      if (vote === undefined) {
        const votes = talliesOf();
        vote = { winner: votes[0]!.value, votes, consistency: info.consistency };
      }
      return vote;
    },
  };
  return info;
}

/** One tally per distinct normalized output, highest weight first (ties in unit order). */
function tally(
  successes: readonly UnitResult[],
  weights: Readonly<Record<string, number>> | undefined,
): VoteTally[] {
  const tallies: VoteTally[] = [];
  const byKey = new Map<string, VoteTally>();
  for (const result of successes) {
    const key = normalize(result.output);
    const weight = weights?.[result.unit] ?? 1;
    const existing = byKey.get(key);
    if (existing === undefined) {
      const created: VoteTally = { value: result.output, key, weight, units: [result.unit] };
      byKey.set(key, created);
      tallies.push(created);
    } else {
      existing.weight += weight;
      existing.units.push(result.unit);
    }
  }
  // Stable sort: equal weights keep the order of their first unit, so ties go to the earlier unit.
  tallies.sort((left, right) => right.weight - left.weight);
  return tallies;
}

/** The form outputs are compared by: strings trimmed, lower-cased, whitespace runs collapsed; other values as JSON with sorted keys. */
function normalize(value: unknown): string {
  if (typeof value === 'string') return value.trim().toLowerCase().replace(/\s+/g, ' ');
  if (value === undefined) return 'undefined';
  return JSON.stringify(sorted(value)) ?? String(value);
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}

/** The set of lower-cased words and numbers in a text. */
function tokens(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** Mean Jaccard similarity over all pairs; 1 with fewer than two sets; two empty sets count as equal. */
function meanJaccard(sets: readonly Set<string>[]): number {
  if (sets.length < 2) return 1;
  let sum = 0;
  let pairs = 0;
  for (let left = 0; left < sets.length; left++) {
    for (let right = left + 1; right < sets.length; right++) {
      const a = sets[left]!;
      const b = sets[right]!;
      let shared = 0;
      for (const token of a) if (b.has(token)) shared++;
      const union = a.size + b.size - shared;
      sum += union === 0 ? 1 : shared / union;
      pairs++;
    }
  }
  return sum / pairs;
}
