/** How the dashboard writes durations, money, tokens and times for people. */

/**
 * A duration in ms as people read it: `850 ms`, `4.2 s`, `3 m 20 s`, `2 h 5 m`, `3 d 4 h`.
 *
 * @example
 * ```ts
 * formatDuration(4200); // '4.2 s'
 * ```
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const value = Math.max(0, ms);
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0)} s`;
  const seconds = Math.floor(value / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${seconds % 60} s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} m`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
}

/**
 * A cost in USD: `$0`, `$0.0042`, `$1.25`.
 *
 * @example
 * ```ts
 * formatCost(0.00423); // '$0.0042'
 * ```
 */
export function formatCost(usd: number | undefined): string {
  if (usd === undefined || usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(2)}`;
}

/**
 * A token count with thousands separated: `12,408`.
 *
 * @example
 * ```ts
 * formatTokens(12408); // '12,408'
 * ```
 */
export function formatTokens(tokens: number | undefined): string {
  return tokens === undefined ? '—' : tokens.toLocaleString('en-US');
}

/**
 * A moment: the time of day for today, else the date and time, in the browser's time zone.
 *
 * @example
 * ```ts
 * formatTime(Date.now()); // '14:03:27'
 * ```
 */
export function formatTime(at: number | undefined, now = Date.now()): string {
  if (at === undefined) return '—';
  const date = new Date(at);
  const today = new Date(now);
  const time = date.toLocaleTimeString('en-GB', { hour12: false });
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toLocaleDateString('en-CA')} ${time}`;
}

/**
 * A share as a percentage, `—` when there is none.
 *
 * @example
 * ```ts
 * formatRate(0.25); // '25%'
 * ```
 */
export function formatRate(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10}%`;
}

/**
 * JSON for reading, cut at `limit` characters (the cut is said).
 *
 * @example
 * ```ts
 * formatJson({ a: 1 }); // '{\n  "a": 1\n}'
 * ```
 */
export function formatJson(value: unknown, limit = Number.POSITIVE_INFINITY): string {
  let text: string;
  if (value === undefined) text = '(none)';
  else if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value, null, 2) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text;
}
