import { describe, expect, it } from 'vitest';
import { findForbiddenKey } from './forbidden-keys.js';
import { jsonProblem } from './json-value.js';

/** `{ a: { a: ... inner } }`, `depth` levels deep. */
function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

describe('jsonProblem past the allocation-free walk', () => {
  it('accepts plain values nested deeper than the quick walk goes', () => {
    expect(jsonProblem(nested(200, [1, 'two', null, true]), 'result')).toBeUndefined();
  });

  it('names a problem nested deeper than the quick walk goes', () => {
    expect(jsonProblem(nested(70, new Date(0)), 'result')).toMatch(/^result(\.a){70} is a Date/);
  });

  it('finds a cycle', () => {
    const parent: { child?: unknown } = {};
    parent.child = { parent };
    expect(jsonProblem(parent, 'result')).toBe(
      'result.child.parent refers back to one of its parents (a cycle)',
    );
  });

  it('refuses holes, undefined items and non-finite numbers as before', () => {
    expect(jsonProblem([1, undefined], 'r')).toBe('r[1] is undefined, which JSON turns into null');
    expect(jsonProblem({ n: Number.NaN }, 'r')).toBe('r.n is NaN, which JSON cannot hold');
    expect(jsonProblem({ skipped: undefined }, 'r')).toBeUndefined();
  });
});

describe('findForbiddenKey past the allocation-free walk', () => {
  it('finds a forbidden key nested deeper than the quick walk goes', () => {
    const path = findForbiddenKey(nested(70, JSON.parse('{"__proto__":{}}')));
    expect(path).toEqual([...Array.from({ length: 70 }, () => 'a'), '__proto__']);
  });

  it('finds none in a cyclic value without one', () => {
    const parent: { child?: unknown } = {};
    parent.child = [{ parent }];
    expect(findForbiddenKey(parent)).toBeUndefined();
  });
});
