/** One list of error codes: the BatonErrorCode union, the codes raised in the source, and the table in docs/errors.md agree. */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repository = resolve(import.meta.dirname, '..');
const source = join(repository, 'src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.includes('.test.') ? [path] : [];
  });
}

/** Codes the source raises: `code: 'X'` and `code ?? 'X'` outside comments (TSDoc examples use made-up codes). */
function raisedCodes(): Map<string, string> {
  const raised = new Map<string, string>();
  for (const file of sourceFiles(source)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (/^\s*(\*|\/\/)/.test(line)) continue;
      for (const match of line.matchAll(/code(?::| \?\?) '([A-Z][A-Z_]+)'/g)) {
        if (!raised.has(match[1]!)) raised.set(match[1]!, relative(repository, file));
      }
    }
  }
  return raised;
}

const union = [
  ...readFileSync(join(source, 'core/error-codes.ts'), 'utf8').matchAll(/^\s*\| '([A-Z_]+)';?$/gm),
].map((match) => match[1]!);
const table = [
  ...readFileSync(join(repository, 'docs/errors.md'), 'utf8').matchAll(/^\| `([A-Z_]+)` \|/gm),
].map((match) => match[1]!);

describe('error codes', () => {
  it('lists every code the source raises in the BatonErrorCode union, and no other', () => {
    const raised = raisedCodes();
    const missing = [...raised]
      .filter(([code]) => !union.includes(code))
      .map(([code, file]) => `${code} (${file})`);
    expect(missing, 'raised but not in src/core/error-codes.ts').toEqual([]);
    expect(
      union.filter((code) => !raised.has(code)),
      'in the union but raised nowhere',
    ).toEqual([]);
    expect(union.length).toBeGreaterThan(50);
  });

  it('explains every code of the union in docs/errors.md, in the same order', () => {
    expect(table).toEqual(union);
    expect([...union].sort()).toEqual(union);
  });
});
