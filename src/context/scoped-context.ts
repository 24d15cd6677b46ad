/** Scoped context: the fields of a run's structured context object that one agent declares, shown in its system prompt. */

/** A run's structured context: a JSON object passed as `{ messages, context }` agent input. */
export type StructuredContext = Readonly<Record<string, unknown>>;

/**
 * The parts of `context` named by dotted `paths`, nested as in the original; missing paths are
 * left out. Without `paths` the whole object is returned.
 *
 * @example
 * ```ts
 * pickScope({ customer: { id: 'C-7', email: 'a@b.c' }, order: { id: 'A-1' } }, ['customer.id']);
 * // { customer: { id: 'C-7' } }
 * ```
 */
export function pickScope(
  context: StructuredContext,
  paths: readonly string[] | undefined,
): Record<string, unknown> {
  if (paths === undefined) return { ...context };
  const picked: Record<string, unknown> = {};
  for (const path of paths) {
    const keys = path.split('.');
    let source: unknown = context;
    for (const key of keys) {
      source =
        source !== null && typeof source === 'object' && Object.hasOwn(source, key)
          ? (source as Record<string, unknown>)[key]
          : undefined;
      if (source === undefined) break;
    }
    if (source === undefined) continue;
    let target = picked;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (next === null || typeof next !== 'object') target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[keys.at(-1) as string] = source;
  }
  return picked;
}

/** The heading under which the scoped context follows the agent's instructions. */
export const CONTEXT_HEADING = '## Context';

const rendered = new WeakMap<object, Map<string, string>>();

/**
 * The system prompt with the agent's scoped context appended (unchanged when nothing is in scope).
 * Rendered once per context object, scope and instructions.
 *
 * @example
 * ```ts
 * withScopedContext('Handle billing.', { order: { id: 'A-1' } }, ['order']);
 * // 'Handle billing.\n\n## Context\n{"order":{"id":"A-1"}}'
 * ```
 */
export function withScopedContext(
  instructions: string,
  context: StructuredContext | undefined,
  paths: readonly string[] | undefined,
): string {
  if (context === undefined) return instructions;
  let perContext = rendered.get(context);
  if (perContext === undefined) {
    perContext = new Map();
    rendered.set(context, perContext);
  }
  const key = `${paths?.join('\u0000') ?? '*'}\u0001${instructions}`;
  let text = perContext.get(key);
  if (text === undefined) {
    const picked = pickScope(context, paths);
    text =
      Object.keys(picked).length === 0
        ? instructions
        : `${instructions}\n\n${CONTEXT_HEADING}\n${JSON.stringify(picked)}`;
    perContext.set(key, text);
  }
  return text;
}
