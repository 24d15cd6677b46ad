/** The CLI's standard input: whether something is piped into it, and reading all of it. */

import { fstatSync } from 'node:fs';

/** Standard input as `baton run` uses it. */
export interface Stdin {
  /**
   * True when stdin is a pipe from a shell (`echo hi | baton run …`) or a redirected file
   * (`< question.txt`); false for a terminal, `/dev/null` or a socket a parent program holds
   * open, which `baton run` reads only when told to with `-`.
   */
  readonly piped: boolean;
  /** Reads stdin to its end, as UTF-8 text. */
  read(): Promise<string>;
}

/**
 * The process's standard input.
 *
 * @example
 * ```ts
 * const stdin = processStdin();
 * const text = stdin.piped ? await stdin.read() : undefined;
 * ```
 */
export function processStdin(): Stdin {
  return {
    get piped() {
      try {
        const stat = fstatSync(0);
        return stat.isFIFO() || stat.isFile();
      } catch {
        return false;
      }
    },
    async read() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * Text read from stdin without the line break a shell adds at its end (`echo`).
 *
 * @example
 * ```ts
 * withoutFinalNewline('refund A-1001\n'); // 'refund A-1001'
 * ```
 */
export function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}
