/** Durations as users write them (team files, approval timeouts): "30s", "10m", "2h", "3d", "250ms" or a number of milliseconds. */

/** Milliseconds per unit. */
export const durationUnits: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The text form of a duration (a positive number followed by ms, s, m, h or d). */
export const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** What a bad duration message says a duration looks like. */
export const durationHint = 'a duration such as "30s", "10m", "2h", "3d" or a number of milliseconds';

/**
 * Milliseconds of a duration: a whole number of milliseconds, or a
 * number with a unit (`ms`, `s`, `m`, `h`, `d`). Returns undefined for anything else.
 *
 * @example
 * ```ts
 * parseDuration('10m'); // 600000
 * parseDuration(1500); // 1500
 * parseDuration('ten minutes'); // undefined
 * ```
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  const match = durationPattern.exec(value.trim());
  if (match === null) return undefined;
  const milliseconds = Math.round(Number(match[1]) * (durationUnits[match[2] as string] as number));
  return milliseconds > 0 ? milliseconds : undefined;
}
