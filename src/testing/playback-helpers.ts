/** Helpers the scripted model and the stub server share: rough token counts and stream deltas. */

/**
 * A deterministic stand-in for a tokenizer: about one token per four characters, rounded up.
 * Good enough for budgets and cost assertions in tests; never use it to size real prompts.
 *
 * @example
 * ```ts
 * approximateTokens('Hello, world'.length); // 3
 * ```
 */
export function approximateTokens(characters: number): number {
  return Math.ceil(Math.max(0, characters) / 4);
}

/**
 * Splits text into the deltas a streaming model would send: one word with its trailing
 * whitespace per piece (leading whitespace rides on the first piece). The pieces always
 * join back to the exact input; an empty string gives no pieces.
 *
 * @example
 * ```ts
 * splitIntoDeltas('Hi there, you'); // ['Hi ', 'there, ', 'you']
 * ```
 */
export function splitIntoDeltas(text: string): string[] {
  const pieces = text.match(/\s*\S+\s*/g);
  if (pieces === null) return text === '' ? [] : [text];
  return pieces;
}

/**
 * Splits a tool call's argument text into a few fragments, as providers stream them.
 *
 * @example
 * ```ts
 * splitArguments('{"a":1}'); // ['{"a', '":1', '}']
 * ```
 */
export function splitArguments(text: string, fragments = 3): string[] {
  if (text.length <= 1) return [text];
  const size = Math.max(1, Math.ceil(text.length / fragments));
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

/**
 * A tool call's arguments as the raw text a model emits: strings verbatim, anything else as JSON.
 *
 * @example
 * ```ts
 * argumentsText({ a: 1 }); // '{"a":1}'
 * argumentsText('{"a": '); // '{"a": ' (verbatim)
 * ```
 */
export function argumentsText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input === undefined) return '{}';
  return JSON.stringify(input);
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * await sleep(50, AbortSignal.timeout(1_000));
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
