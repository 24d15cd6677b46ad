/** A parsed YAML file that remembers where every node is, so problems can name a line and column. */

import { isMap, isNode, isScalar, isSeq, LineCounter, type parseDocument } from 'yaml';
import { parseYaml } from '../testing/parse-yaml.js';
import type { TeamFileProblem } from './team-file-error.js';

/** A path into the parsed data: keys and array indexes. */
export type DataPath = readonly (string | number)[];

/**
 * What a problem says: text, or a function that writes it when it is first read. Messages that
 * search every name of a big file (known names, "did you mean") are written lazily, so finding
 * many problems costs no more than finding one each.
 */
export type ProblemMessage = string | (() => string);

/** A position in the file (1-based). */
export interface Position {
  line: number;
  column: number;
}

/**
 * A YAML document with positions. `problem(path, message)` builds a problem located at the
 * node for `path` (or its nearest existing parent); `keyProblem` locates the key itself.
 */
export class YamlSource {
  readonly file: string;
  readonly data: unknown;
  readonly #document: ReturnType<typeof parseDocument>;
  readonly #lines: LineCounter;

  private constructor(file: string, document: ReturnType<typeof parseDocument>, lines: LineCounter) {
    this.file = file;
    this.#document = document;
    this.#lines = lines;
    this.data = document.errors.length === 0 ? document.toJS() : undefined;
  }

  /** Parses `text`; returns the source, or the problem describing the first YAML syntax error. */
  static parse(file: string, text: string): YamlSource | TeamFileProblem {
    const lines = new LineCounter();
    const document = parseYaml(text, lines);
    const error = document.errors[0];
    if (error !== undefined) {
      const position = lines.linePos(error.pos[0]);
      const first = (error.message.split('\n')[0] ?? error.message).replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      const detail = first.startsWith('Map keys must be unique')
        ? 'this key appears twice in the same mapping'
        : first;
      return {
        file,
        line: position.line,
        column: position.col,
        path: '',
        message: `invalid YAML: ${detail}. Check the indentation and quoting around this position.`,
      };
    }
    return new YamlSource(file, document, lines);
  }

  /** The position of the node at `path`, or of its nearest parent that exists. */
  positionOf(path: DataPath): Position | undefined {
    for (let length = path.length; length >= 0; length--) {
      const node = length === 0 ? this.#document.contents : this.#document.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range !== undefined && node.range !== null) return this.#at(node.range[0]);
    }
    return undefined;
  }

  /** The position of the key `key` in the mapping at `mapPath`. */
  keyPositionOf(mapPath: DataPath, key: string): Position | undefined {
    const map = mapPath.length === 0 ? this.#document.contents : this.#document.getIn(mapPath, true);
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range)
          return this.#at(pair.key.range[0]);
      }
    }
    return this.positionOf(mapPath);
  }

  /** True when the node at `path` is a YAML sequence (used to phrase messages). */
  isSequence(path: DataPath): boolean {
    return isSeq(this.#document.getIn(path, true));
  }

  /** A problem located at the node of `path`. */
  problem(path: DataPath, message: ProblemMessage): TeamFileProblem {
    return this.#problem(this.positionOf(path), formatPath(path), message);
  }

  /** A problem located at the key `key` of the mapping at `mapPath`. */
  keyProblem(mapPath: DataPath, key: string, message: ProblemMessage): TeamFileProblem {
    return this.#problem(this.keyPositionOf(mapPath, key), formatPath([...mapPath, key]), message);
  }

  #problem(position: Position | undefined, path: string, message: ProblemMessage): TeamFileProblem {
    const located = { file: this.file, line: position?.line, column: position?.column, path };
    if (typeof message === 'string') return { ...located, message };
    let written: string | undefined;
    return {
      ...located,
      get message() {
        written ??= message();
        return written;
      },
    };
  }

  #at(offset: number): Position {
    const position = this.#lines.linePos(offset);
    return { line: position.line, column: position.col };
  }
}

/** Formats a data path as `agents[1].handoffs[0]`. */
export function formatPath(path: DataPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}

/** The value at `path` in plain data, or `undefined`. */
export function valueAt(data: unknown, path: DataPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}
