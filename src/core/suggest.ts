/** "Did you mean …?": the closest known name to a misspelled one, by edit distance. */

/**
 * The known name closest to `input`, if it is close enough to be a likely typo
 * (at most a third of its length, and at least 1, edits away, and not every character; case is ignored).
 *
 * @example
 * ```ts
 * closestName('biling', ['triage', 'billing', 'technical']); // 'billing'
 * closestName('xyz', ['triage']); // undefined
 * ```
 */
export function closestName(input: string, known: readonly string[]): string | undefined {
  const target = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(target, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(target.length, 3) / 3));
  return best !== undefined && bestDistance <= allowed && bestDistance < target.length && best !== input
    ? best
    : undefined;
}

/**
 * ` Did you mean "x"?` for a close match, or an empty string.
 *
 * @example
 * ```ts
 * `unknown agent "biling".${didYouMean('biling', ['billing'])}`; // 'unknown agent "biling". Did you mean "billing"?'
 * ```
 */
export function didYouMean(input: string, known: readonly string[]): string {
  const match = closestName(input, known);
  return match === undefined ? '' : ` Did you mean "${match}"?`;
}

/** Levenshtein distance, with adjacent transpositions counting as one edit. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const table: number[][] = Array.from({ length: rows }, (_, row) =>
    Array.from({ length: columns }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)),
  );
  const at = (row: number, column: number): number => table[row]?.[column] ?? 0;
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const cost = a[row - 1] === b[column - 1] ? 0 : 1;
      let value = Math.min(at(row - 1, column) + 1, at(row, column - 1) + 1, at(row - 1, column - 1) + cost);
      if (row > 1 && column > 1 && a[row - 1] === b[column - 2] && a[row - 2] === b[column - 1]) {
        value = Math.min(value, at(row - 2, column - 2) + 1);
      }
      (table[row] as number[])[column] = value;
    }
  }
  return at(rows - 1, columns - 1);
}
