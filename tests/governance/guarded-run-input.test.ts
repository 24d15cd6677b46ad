/** A run's input as the guardrails left it when the run's target is a pattern: the member that got the input decided on it in its own scope (`r/0`), not in the run's (`r`). */

import { describe, expect, it } from 'vitest';
import {
  agent,
  createMemoryStore,
  createRuntime,
  guardrail,
  type Runnable,
  redactPii,
  sequential,
  withGuardedInput,
} from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

const email = 'jane.doe@example.com';
const rawInput = `Customer ${email} asks about plans.`;

/** An agent that answers `answer`, with `guardrails`. */
const member = (name: string, answer: string, guardrails: Parameters<typeof agent>[0]['guardrails'] = []) =>
  agent({
    name,
    instructions: `You are ${name}.`,
    guardrails,
    model: scriptedModel(() => ({ text: answer })),
  });

async function shownInput(target: Runnable<unknown, unknown>, input: unknown) {
  const runtime = createRuntime({ store: createMemoryStore() });
  try {
    const handle = await runtime.start(target, input);
    await handle.result();
    const record = await runtime.get(handle.runId);
    // The store keeps what the run was started with (so this test can fail).
    expect(record.input).toEqual(input);
    return withGuardedInput(record, await runtime.journal(handle.runId)).input;
  } finally {
    await runtime.close();
  }
}

describe("a pattern's run input as its members' input guardrails left it", () => {
  it("shows the input a sequential team's first member redacted (its decision is in scope r/0)", async () => {
    const team = sequential({
      name: 'intake-team',
      stages: [member('intake', 'A customer asks about plans.', [redactPii()]), member('writer', 'Done.')],
    });
    expect(await shownInput(team, rawInput)).toBe('Customer [REDACTED:email] asks about plans.');
  });

  it("leaves the input alone when only a later member redacted a text of its own (the first member's answer)", async () => {
    const team = sequential({
      name: 'relay-team',
      stages: [member('relay', `Forwarding for ${email}.`), member('writer', 'Done.', [redactPii()])],
    });
    expect(await shownInput(team, 'Say hello.')).toBe('Say hello.');
  });

  it('withholds the input when two members that each got it redacted it differently (neither text hides all)', async () => {
    const phone = '+1 415 555 0100';
    /** An input guardrail that replaces `value` by `[kind]`. */
    const hide = (kind: string, value: string) =>
      guardrail({
        name: `hide-${kind}`,
        on: 'input',
        check: ({ text }) =>
          text.includes(value)
            ? { action: 'rewrite', text: text.replace(value, `[${kind}]`), reason: kind }
            : { action: 'pass' },
      });
    const hidePhone = hide('phone', phone);
    const hideEmail = hide('email', email);
    const input = `Customer ${email}, ${phone}.`;
    const both = sequential({
      name: 'both-team',
      stages: [
        member('first', 'ok', [hideEmail]),
        // The second stage gets the run's input again.
        { run: member('second', 'ok', [hidePhone]), input: (_previous, pipeline) => pipeline.input },
      ],
    });
    const shown = String(await shownInput(both, input));
    expect(shown).not.toContain(email);
    expect(shown).not.toContain(phone);
  });
});
