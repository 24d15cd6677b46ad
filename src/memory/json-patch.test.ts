import { describe, expect, it } from 'vitest';
import { applyJsonPatch, setFields } from './json-patch.js';

describe('applyJsonPatch', () => {
  it('adds, replaces and removes by JSON Pointer without touching the input', () => {
    const document = { steps: ['a', 'c'], 'a/b': { '~k': 1 }, done: false };
    const result = applyJsonPatch(document, [
      { op: 'add', path: '/steps/1', value: 'b' },
      { op: 'add', path: '/steps/-', value: 'd' },
      { op: 'replace', path: '/a~1b/~0k', value: 2 },
      { op: 'remove', path: '/done' },
      { op: 'add', path: '/owner', value: { name: 'ada' } },
    ]);
    expect(result).toEqual({ steps: ['a', 'b', 'c', 'd'], 'a/b': { '~k': 2 }, owner: { name: 'ada' } });
    expect(document).toEqual({ steps: ['a', 'c'], 'a/b': { '~k': 1 }, done: false });
    expect(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }])).toEqual([1]);
  });

  it('names the operation and the problem when a path does not fit', () => {
    expect(() => applyJsonPatch({ steps: [] }, [{ op: 'replace', path: '/steps/0', value: 1 }])).toThrow(
      'patch[0] (replace /steps/0): index "0" is out of range (length 0)',
    );
    expect(() => applyJsonPatch({}, [{ op: 'add', path: '/a/b', value: 1 }])).toThrow('no value at "a"');
    expect(() => applyJsonPatch({}, [{ op: 'add', path: 'a', value: 1 }])).toThrow(
      'must be "" or start with "/"',
    );
    expect(() => applyJsonPatch({}, [{ op: 'add', path: '/a' }])).toThrow('"value" is required');
    expect(() => applyJsonPatch({}, [{ op: 'remove', path: '' }])).toThrow(
      'cannot remove the whole document',
    );
  });

  it('sets top-level fields of an object only', () => {
    expect(setFields({ a: 1, b: 2 }, { b: 3, c: null })).toEqual({ a: 1, b: 3, c: null });
    expect(() => setFields([1], { a: 1 })).toThrow(/use "patch"/);
  });

  it('refuses __proto__, constructor and prototype in paths and values, leaving Object.prototype clean', () => {
    expect(() => applyJsonPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: true }])).toThrow(
      'patch[0] (add /__proto__/polluted): the key "__proto__" at /__proto__ is not allowed',
    );
    expect(() =>
      applyJsonPatch({}, [{ op: 'add', path: '/constructor/prototype/polluted', value: true }]),
    ).toThrow('the key "constructor" at /constructor is not allowed');
    expect(() =>
      applyJsonPatch({ a: {} }, [{ op: 'add', path: '/a/b', value: JSON.parse('{"x":{"prototype":1}}') }]),
    ).toThrow('the key "prototype" at /a/b/x/prototype is not allowed');
    expect(() => setFields({}, JSON.parse('{"__proto__":{"polluted":true}}'))).toThrow(
      'the key "__proto__" at /__proto__ is not allowed',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
