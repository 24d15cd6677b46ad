/** Where the CLI writes, and ANSI styles that are on only for a TTY with NO_COLOR unset. */

/** A stream the CLI writes to (process.stdout or a test double). */
export interface Writer {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** Text styles; each returns its input unchanged when colors are off. */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  blue(text: string): string;
  magenta(text: string): string;
  cyan(text: string): string;
}

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
} as const;

/**
 * Styles for `stream`: colors when it is a TTY and NO_COLOR is unset or empty (FORCE_COLOR=1 forces them on).
 *
 * @example
 * ```ts
 * const style = createStyle(process.stdout, process.env);
 * process.stdout.write(style.green('done') + '\n');
 * ```
 */
export function createStyle(stream: Writer, env: Readonly<Record<string, string | undefined>>): Style {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0';
  const disabled = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const enabled = !disabled && (forced || stream.isTTY === true);
  const paint =
    ([open, close]: readonly [number, number]) =>
    (text: string): string =>
      enabled && text !== '' ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: paint(codes.bold),
    dim: paint(codes.dim),
    red: paint(codes.red),
    green: paint(codes.green),
    yellow: paint(codes.yellow),
    blue: paint(codes.blue),
    magenta: paint(codes.magenta),
    cyan: paint(codes.cyan),
  };
}

/** Removes ANSI escape sequences (for measuring and for tests). */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point.
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
