/** Small formatters the CLI shares: durations, costs, token counts, times, one-line JSON previews. */

import type { Usage } from '../index.js';
import { type Style, stripAnsi } from './output.js';

/**
 * A duration for people: `850ms`, `3.2s`, `2m 05s`, `1h 02m`.
 *
 * @example
 * ```ts
 * formatDuration(3200); // '3.2s'
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.round(minutes / 60 / 24)}d`;
}

/**
 * A cost in USD with enough digits to see small amounts: `$0.0000`, `$0.0123`, `$1.25`.
 *
 * @example
 * ```ts
 * formatCost(0.00042); // '$0.0004'
 * ```
 */
export function formatCost(usd: number): string {
  if (!Number.isFinite(usd)) return '-';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd > 0 && usd < 0.0001) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(4)}`;
}

/**
 * Token usage as `1,234 in / 56 out`.
 *
 * @example
 * ```ts
 * formatUsage({ inputTokens: 1234, outputTokens: 56, totalTokens: 1290 }); // '1,234 in / 56 out'
 * ```
 */
export function formatUsage(usage: Usage): string {
  return `${formatCount(usage.inputTokens)} in / ${formatCount(usage.outputTokens)} out`;
}

/** An integer with thousands separators. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * A local date and time, `2026-11-21 14:03:07`.
 *
 * @example
 * ```ts
 * formatTime(Date.now());
 * ```
 */
export function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * A value on one line, shortened to `width` characters: strings as they are, the rest as JSON.
 *
 * @example
 * ```ts
 * preview({ orderId: 'A-1001' }); // '{"orderId":"A-1001"}'
 * ```
 */
export function preview(value: unknown, width = 160): string {
  let text: string;
  if (value === undefined) return '(none)';
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s*\n\s*/g, ' ');
  return text.length > width ? `${text.slice(0, Math.max(1, width - 1))}…` : text;
}

/**
 * A value in full for people: strings as they are, the rest as indented JSON.
 *
 * @example
 * ```ts
 * display({ ok: true }); // '{\n  "ok": true\n}'
 * ```
 */
export function display(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '(none)';
  return JSON.stringify(value, null, 2) ?? String(value);
}

/**
 * Wraps each line of `text` at word boundaries so it fits in `width` columns (long words stay whole).
 *
 * @example
 * ```ts
 * wrap('the quick brown fox', 10); // 'the quick\nbrown fox'
 * ```
 */
export function wrap(text: string, width: number): string {
  if (!Number.isFinite(width)) return text;
  return text
    .split('\n')
    .map((line) => {
      const lines: string[] = [];
      let current = '';
      for (const word of line.split(/(?<=\s)/)) {
        if (current !== '' && (current + word).trimEnd().length > width) {
          lines.push(current.trimEnd());
          current = word.trimStart();
        } else current += word;
      }
      lines.push(current.trimEnd());
      return lines.join('\n');
    })
    .join('\n');
}

/** Indents every line of `text` by `spaces`. */
export function indent(text: string, spaces = 2): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/**
 * Rows as an aligned table: the header dimmed, columns two spaces apart, the columns in
 * `rightAligned` padded on the left (numbers). Colours do not count towards widths.
 *
 * @example
 * ```ts
 * alignedTable(['NAME', 'RUNS'], [['support', '12']], new Set([1]), style); // 'NAME     RUNS\nsupport    12'
 * ```
 */
export function alignedTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number>,
  style: Style,
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => stripAnsi(row[column] ?? '').length)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => {
        const padding = ' '.repeat(Math.max(0, (widths[column] ?? 0) - stripAnsi(cell).length));
        return rightAligned.has(column) ? padding + cell : cell + padding;
      })
      .join('  ')
      .trimEnd();
  return [style.dim(render(header)), ...rows.map(render)].join('\n');
}

/**
 * The items of a comma-separated option, trimmed, empty ones dropped; none for a flag without a value.
 *
 * @example
 * ```ts
 * commaList('read, run,'); // ['read', 'run']
 * ```
 */
export function commaList(value: string | boolean | undefined): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
