import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { makerChecker, parseVerdict } from './maker-checker.js';

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

const criteria = ['Names both parties', 'Has a termination clause'];

describe('makerChecker', () => {
  it('revises with the feedback until the checker approves (round 2)', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      drafter: [
        { text: 'NDA v1: Acme and Beta.' },
        { text: 'NDA v2: Acme and Beta. Terminates after 2 years.' },
      ],
      checker: [
        { text: '{"approved": false, "feedback": "Add a termination clause."}' },
        { text: 'APPROVED\nBoth criteria met.' },
      ],
    });
    const drafter = agent({ name: 'drafter', instructions: 'Draft contracts.', model });
    const checker = agent({ name: 'checker', instructions: 'Check contracts.', model });
    const review = makerChecker({ name: 'nda', maker: drafter, checker, criteria });
    const handle = await runtime.start(review, 'NDA between Acme and Beta');
    const result = await handle.result();
    expect(result).toEqual({
      output: 'NDA v2: Acme and Beta. Terminates after 2 years.',
      approved: true,
      rounds: 2,
      feedback: ['Add a termination clause.', 'Both criteria met.'],
      stoppedBy: 'approved',
    });
    const calls = (name: string) => model.calls.filter((call) => call.providerOptions?.baton?.agent === name);
    const revision = JSON.stringify(calls('drafter')[1]?.prompt);
    expect(revision).toContain('Your previous draft:\\nNDA v1: Acme and Beta.');
    expect(revision).toContain('Reviewer feedback:\\nAdd a termination clause.');
    const check = JSON.stringify(calls('checker')[0]?.prompt);
    expect(check).toContain('- Has a termination clause');
    expect(check).toContain('Candidate (round 1):\\nNDA v1');

    expect(
      events.flatMap((event) =>
        event.type === 'speaker-selected' ? [`${event.speaker}:${event.reason}`] : [],
      ),
    ).toEqual(['drafter:propose', 'checker:check', 'drafter:revise', 'checker:check']);
    expect(
      events.flatMap((event) =>
        event.type === 'pattern-decision' ? [event.decision, ...event.reasons] : [],
      ),
    ).toEqual(['rejected', 'Add a termination clause.', 'approved', 'Both criteria met.']);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'approved' });
    // Every model call is a journaled step, each verdict a decision step.
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual([
      'model:drafter',
      'model:checker',
      'decision:makerChecker',
      'model:drafter',
      'model:checker',
      'decision:makerChecker',
    ]);
    await runtime.close();
  });

  it('stops at the cap and says the output was not approved', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      drafter: [{ text: 'draft 1' }, { text: 'draft 2' }],
      checker: [{ text: 'REJECTED: too vague' }, { text: 'Rejected - still vague' }],
    });
    const review = makerChecker({
      name: 'capped',
      maker: agent({ name: 'drafter', instructions: 'x', model }),
      checker: agent({ name: 'checker', instructions: 'y', model }),
      criteria: 'Be specific',
      maxRounds: 2,
    });
    const result = await (await runtime.start(review, 'Write a plan')).result();
    expect(result).toEqual({
      output: 'draft 2',
      approved: false,
      rounds: 2,
      feedback: ['too vague', 'still vague'],
      stoppedBy: 'max rounds',
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'max rounds' });
    await runtime.close();
  });

  it('counts an unparseable verdict as a rejection whose feedback is the checker text', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      drafter: [{ text: 'first' }, { text: 'second' }],
      checker: [
        { text: 'Hmm, I am not sure about the tone.' },
        { text: 'Verdict below.\n```json\n{"approved": true, "feedback": ""}\n```' },
      ],
    });
    const review = makerChecker({
      name: 'fuzzy',
      maker: agent({ name: 'drafter', instructions: 'x', model }),
      checker: agent({ name: 'checker', instructions: 'y', model }),
      criteria: 'Friendly tone',
    });
    const result = await (await runtime.start(review, 'Greet')).result();
    expect(result).toMatchObject({ approved: true, rounds: 2, output: 'second' });
    expect(result.feedback).toEqual(['Hmm, I am not sure about the tone.', '']);
    const decisions = events.filter((event) => event.type === 'pattern-decision');
    expect(decisions[0]).toMatchObject({ decision: 'rejected', data: { parsedAs: 'unparseable' } });
    expect((decisions[0] as { reasons: string[] }).reasons[0]).toMatch(
      /^unparseable verdict, counted as rejected/,
    );
    expect(decisions[1]).toMatchObject({ decision: 'approved', data: { parsedAs: 'json' } });
    // The maker's revision carried the unparsed text as feedback.
    expect(
      JSON.stringify(model.calls.find((call) => call.providerOptions?.baton?.turn === 1)?.prompt),
    ).toContain('not sure about the tone');
    await runtime.close();
  });

  it('works with workflow members and with a checker agent that has an output schema', async () => {
    const { runtime } = setup();
    const requests: string[] = [];
    const maker = workflow({ name: 'maker', version: '1' }, async (ctx, request: string) => {
      requests.push(request);
      return ctx.step('write', () => (request.includes('mention pricing') ? 'Plan with pricing' : 'Plan'));
    });
    const checker = workflow({ name: 'checker' }, async (_ctx, request: string) => ({
      approved: request.includes('Plan with pricing'),
      feedback: request.includes('Plan with pricing') ? 'fine' : 'mention pricing',
    }));
    const result = await (
      await runtime.start(
        makerChecker({ name: 'wf', maker, checker, criteria: 'Covers pricing' }),
        'Plan a launch',
      )
    ).result();
    expect(result).toMatchObject({ output: 'Plan with pricing', approved: true, rounds: 2 });
    expect(requests[0]).toBe('Plan a launch');
    expect(requests[1]).toContain('Reviewer feedback:\nmention pricing');

    const model = scriptedModel({ judge: [{ text: '{"approved": true, "feedback": "ok"}' }] });
    const judge = agent({
      name: 'judge',
      instructions: 'Judge.',
      model,
      output: z.object({ approved: z.boolean(), feedback: z.string() }),
    });
    const typed = await (
      await runtime.start(
        makerChecker({ name: 'typed', maker, checker: judge, criteria: 'Anything' }),
        'Plan',
      )
    ).result();
    expect(typed).toMatchObject({ approved: true, rounds: 1, feedback: ['ok'] });
    expect(model.calls[0]?.responseFormat).toMatchObject({ type: 'json' });
    await runtime.close();
  });

  it('reads verdicts as objects, JSON, or a leading APPROVED/REJECTED line', () => {
    expect(parseVerdict({ approved: false, feedback: 'no' })).toEqual({
      ok: true,
      verdict: { approved: false, feedback: 'no' },
      how: 'object',
    });
    expect(parseVerdict('Sure! {"approved": true}')).toMatchObject({
      verdict: { approved: true, feedback: '' },
    });
    expect(parseVerdict('**Approved.** Nice work')).toMatchObject({
      verdict: { approved: true, feedback: 'Nice work' },
      how: 'keyword',
    });
    expect(parseVerdict('rejected: needs tests')).toMatchObject({
      verdict: { approved: false, feedback: 'needs tests' },
    });
    expect(parseVerdict('NOT APPROVED')).toMatchObject({ ok: false });
    expect(parseVerdict({ approved: 'yes' })).toMatchObject({ ok: false });
  });

  it('rejects bad options', () => {
    const model = scriptedModel([]);
    const a = agent({ name: 'a', instructions: 'x', model });
    const b = agent({ name: 'b', instructions: 'x', model });
    expect(() => makerChecker({ name: 'm', maker: a, checker: b, criteria: [] })).toThrow(
      /makerChecker\("m"\): criteria must be a non-empty string or a non-empty array of strings/,
    );
    expect(() => makerChecker({ name: 'm', maker: a, checker: b, criteria: 'x', maxRounds: 0 })).toThrow(
      /maxRounds must be an integer >= 1, got 0/,
    );
    expect(() => makerChecker({ name: 'm', maker: {} as never, checker: b, criteria: 'x' })).toThrow(
      /makerChecker\("m"\): maker is not an agent, workflow or pattern/,
    );
    expect(() => makerChecker({ name: 'm', maker: a, checker: a, criteria: 'x' })).toThrow(
      /must be different/,
    );
  });
});
