// The benchmark workload shared by every case: one `add` tool, a two-turn fake model, one check.

/** The user's message for every run. */
export const PROMPT = 'What is 2 + 3?';

/** The arguments every fake model passes to the `add` tool on its first turn. */
export const ADD_ARGUMENTS = Object.freeze({ a: 2, b: 3 });

/** The final text every fake model answers once it sees the tool result. */
export const FINAL_ANSWER = '5';

/** Name and description of the one tool, the same in every framework. */
export const ADD_TOOL = Object.freeze({ name: 'add', description: 'Add two numbers and return the sum.' });

/**
 * A counting implementation of the `add` tool. Every case wires `execute` into its framework's
 * tool definition and reports `count()` as `toolCalls()`, so the harness can check that each
 * run executed the tool exactly once.
 *
 * @example
 * const add = createAddTool();
 * add.execute({ a: 2, b: 3 }); // 5
 * add.count(); // 1
 */
export function createAddTool() {
  let executions = 0;
  return {
    execute({ a, b }) {
      executions += 1;
      return a + b;
    },
    count: () => executions,
  };
}

/**
 * Throws unless a run's final output is the expected answer (after trimming).
 *
 * @example
 * assertFinalOutput('langgraph', result.messages.at(-1).content);
 */
export function assertFinalOutput(caseName, output) {
  if (typeof output !== 'string' || output.trim() !== FINAL_ANSWER) {
    throw new Error(
      `${caseName}: expected the final output ${JSON.stringify(FINAL_ANSWER)}, got ${JSON.stringify(output)}`,
    );
  }
}

/**
 * Counts fake-model calls. Every fake model calls `increment()` once per model call and the
 * case reports `count()` as `modelCalls()`; the harness checks two model calls per run.
 *
 * @example
 * const modelCalls = createCounter();
 * modelCalls.increment();
 * modelCalls.count(); // 1
 */
export function createCounter() {
  let value = 0;
  return {
    increment() {
      value += 1;
    },
    count: () => value,
  };
}

/**
 * Returns a fresh tool-call id. Every fake model calls it once per tool call it emits, so the
 * per-call work is identical across frameworks.
 */
export function createCallIds(prefix = 'call_') {
  let next = 0;
  return () => {
    next += 1;
    return `${prefix}${next}`;
  };
}
