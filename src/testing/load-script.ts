/** Loads scripted model turns from a YAML or JSON file, with errors that name the file, line and field. */

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isMap, isNode, isScalar, LineCounter, type parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { parseYaml } from './parse-yaml.js';
import type { ScriptedToolCall, ScriptedTurn } from './scripted-model.js';

const toolCallSchema = z.strictObject({
  tool: z.string().min(1),
  input: z.unknown().optional(),
  id: z.string().min(1).optional(),
});

const turnSchema = z.strictObject({
  text: z.string().optional(),
  toolCalls: z.array(toolCallSchema).optional(),
  usage: z
    .strictObject({ inputTokens: z.int().nonnegative(), outputTokens: z.int().nonnegative() })
    .optional(),
  delayMs: z.number().nonnegative().optional(),
  error: z.string().optional(),
});

const scriptFileSchema = z.record(z.string(), z.array(turnSchema));

type TurnInFile = z.infer<typeof turnSchema>;

/**
 * Reads a script file for {@link scriptedModel}: a mapping from agent name to that agent's
 * turns, in YAML or JSON. Turn fields are those of {@link ScriptedTurn}, except that `error`
 * is a message string. Unknown fields are rejected, so a typo fails loudly. Relative paths
 * resolve against the working directory; pass a `URL` to resolve against a module.
 *
 * Throws a `ConfigError` (code `SCRIPT_NOT_FOUND` or `INVALID_SCRIPT`) naming the file, the
 * line and the bad field, e.g. `script.yaml:7:9: billing[1].toolCalls[0].tool: expected string`.
 *
 * @example
 * ```ts
 * // support.script.yaml
 * // triage:
 * //   - toolCalls: [{ tool: transfer_to_billing, input: {} }]
 * // billing:
 * //   - toolCalls: [{ tool: refund, input: { orderId: A-1001 } }]
 * //   - text: The duplicate charge has been refunded.
 * const model = scriptedModel(await loadScript(new URL('./support.script.yaml', import.meta.url)));
 * ```
 */
export async function loadScript(path: string | URL): Promise<Record<string, ScriptedTurn[]>> {
  const file = typeof path === 'string' ? path : fileURLToPath(path);
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(
      missing
        ? `Script file not found: ${file}. Check the path (relative paths resolve against ${process.cwd()}).`
        : `Cannot read script file ${file}: ${(error as Error).message}`,
      { code: missing ? 'SCRIPT_NOT_FOUND' : 'INVALID_SCRIPT', cause: error },
    );
  }

  const lineCounter = new LineCounter();
  const document = parseYaml(source, lineCounter);
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    const position = lineCounter.linePos(syntaxError.pos[0]);
    throw new ConfigError(
      `Invalid script file ${file}:${position.line}:${position.col}: not valid YAML or JSON: ${syntaxError.message.split('\n')[0]}`,
      { code: 'INVALID_SCRIPT', cause: syntaxError },
    );
  }

  const data: unknown = document.toJS();
  if (data === null || data === undefined) {
    throw new ConfigError(
      `Invalid script file ${file}: the file is empty; expected a mapping from agent name to a list of turns.`,
      { code: 'INVALID_SCRIPT' },
    );
  }
  const parsed = scriptFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const path = unknownKey === undefined ? issue.path : [...issue.path, unknownKey];
      const position =
        (unknownKey === undefined
          ? undefined
          : keyPositionOf(document, lineCounter, issue.path, unknownKey)) ??
        positionOf(document, lineCounter, path);
      const where = position === undefined ? file : `${file}:${position.line}:${position.col}`;
      const field = formatPath(path);
      const message =
        unknownKey === undefined
          ? issue.message
          : `unknown field "${unknownKey}"${allowedFieldsHint(issue.path)}`;
      return `${where}: ${field === '' ? '(top level)' : field}: ${message}`;
    });
    throw new ConfigError(`Invalid script file ${file}:\n  ${problems.join('\n  ')}`, {
      code: 'INVALID_SCRIPT',
    });
  }

  const script: Record<string, ScriptedTurn[]> = {};
  for (const [agent, turns] of Object.entries(parsed.data)) script[agent] = turns.map(toTurn);
  return script;
}

function toTurn(turn: TurnInFile): ScriptedTurn {
  const result: ScriptedTurn = {};
  if (turn.text !== undefined) result.text = turn.text;
  if (turn.toolCalls !== undefined) {
    result.toolCalls = turn.toolCalls.map((call) => {
      const toolCall: ScriptedToolCall = { tool: call.tool, input: call.input ?? {} };
      if (call.id !== undefined) toolCall.id = call.id;
      return toolCall;
    });
  }
  if (turn.usage !== undefined) result.usage = turn.usage;
  if (turn.delayMs !== undefined) result.delayMs = turn.delayMs;
  if (turn.error !== undefined) result.error = turn.error;
  return result;
}

function positionOf(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } | undefined {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]);
  }
  return undefined;
}

function keyPositionOf(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  mapPath: readonly PropertyKey[],
  key: string,
): { line: number; col: number } | undefined {
  const map = mapPath.length === 0 ? document.contents : document.getIn(mapPath, true);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key && pair.key.range)
      return lineCounter.linePos(pair.key.range[0]);
  }
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

function allowedFieldsHint(objectPath: readonly PropertyKey[]): string {
  const depth = objectPath.length;
  if (depth === 2) return ` (a turn has: ${Object.keys(turnSchema.shape).join(', ')})`;
  if (depth === 3 && objectPath[2] === 'usage') return ' (usage has: inputTokens, outputTokens)';
  if (depth === 4) return ` (a tool call has: ${Object.keys(toolCallSchema.shape).join(', ')})`;
  return '';
}
