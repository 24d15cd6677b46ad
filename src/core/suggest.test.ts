import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from './suggest.js';

describe('closestName', () => {
  it('finds typos: a missing, extra, changed or swapped letter, ignoring case', () => {
    const known = ['triage', 'billing', 'technical'];
    expect(closestName('biling', known)).toBe('billing');
    expect(closestName('billling', known)).toBe('billing');
    expect(closestName('tecnhical', known)).toBe('technical');
    expect(closestName('Triage', known)).toBe('triage');
  });

  it('suggests nothing for names that are not close, or too short to judge', () => {
    expect(closestName('shipping', ['triage', 'billing'])).toBeUndefined();
    expect(closestName('c', ['a', 'b'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });

  it('phrases the hint as a sentence, or nothing', () => {
    expect(didYouMean('handof', ['handoff'])).toBe(' Did you mean "handoff"?');
    expect(didYouMean('zzz', ['handoff'])).toBe('');
  });
});
