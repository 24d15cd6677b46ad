import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { loop, parseEvaluation } from './loop.js';

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

describe('loop', () => {
  it('refines with the evaluator feedback until the score reaches the threshold', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      writer: [{ text: 'A long announcement that rambles.' }, { text: 'Baton 1.0 is out.' }],
      critic: [
        { text: '{"score": 0.4, "feedback": "Too long; one sentence."}' },
        { text: 'Here you go: {"score": 0.9, "feedback": "Crisp."}' },
      ],
    });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const critic = agent({ name: 'critic', instructions: 'Score.', model });
    const polish = loop({ name: 'polish', generator: writer, evaluator: critic, threshold: 0.8 });
    const handle = await runtime.start(polish, 'Announce Baton 1.0');
    const result = await handle.result();
    expect(result).toMatchObject({
      output: 'Baton 1.0 is out.',
      score: 0.9,
      bestIteration: 2,
      iterations: 2,
      stoppedBy: 'threshold',
    });
    expect(result.history.map((entry) => entry.feedback)).toEqual(['Too long; one sentence.', 'Crisp.']);
    const refine = JSON.stringify(
      model.calls.filter((call) => call.providerOptions?.baton?.agent === 'writer')[1]?.prompt,
    );
    expect(refine).toContain('Your previous attempt (scored 0.4; 0.8 is needed):\\nA long announcement');
    expect(refine).toContain('Feedback:\\nToo long; one sentence.');
    expect(events.flatMap((event) => (event.type === 'pattern-decision' ? [event.decision] : []))).toEqual([
      'refine',
      'accept',
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      pattern: 'loop',
      outcome: 'threshold',
    });
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual([
      'model:writer',
      'model:critic',
      'decision:loop',
      'model:writer',
      'model:critic',
      'decision:loop',
    ]);
    await runtime.close();
  });

  it('returns the best iteration, not the last, when the cap is hit', async () => {
    const { runtime } = setup();
    const scores = [0.5, 0.7, 0.6];
    const generator = workflow({ name: 'gen' }, async (_ctx, request: string) => `attempt ${request.length}`);
    const outputs: string[] = [];
    const result = await (
      await runtime.start(
        loop({
          name: 'capped',
          generator,
          evaluator: (output, iteration) => {
            outputs.push(output);
            return { score: scores[iteration - 1]!, feedback: `try again ${iteration}` };
          },
          threshold: 0.95,
        }),
        'task',
      )
    ).result();
    expect(result.stoppedBy).toBe('max iterations');
    expect(result.iterations).toBe(3);
    expect(result.bestIteration).toBe(2);
    expect(result.score).toBe(0.7);
    expect(result.output).toBe(outputs[1]);
    expect(result.output).not.toBe(outputs[2]);
    expect(result.history.map((entry) => entry.score)).toEqual([0.5, 0.7, 0.6]);
    await runtime.close();
  });

  it('journals a function evaluator, so a resumed loop does not call it again for finished iterations', async () => {
    const store = createMemoryStore();
    let hang = true;
    const model = scriptedModel(async ({ turn }) => {
      if (turn === 1 && hang) await new Promise(() => undefined);
      return { text: `draft ${turn}` };
    });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    let evaluations = 0;
    const polish = loop({
      name: 'durable-loop',
      generator: writer,
      evaluator: (output) => {
        evaluations++;
        return { score: output === 'draft 1' ? 1 : 0.2, feedback: 'more' };
      },
      threshold: 0.9,
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(polish, 'write');
    while (model.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [polish] });
    const result = await (await second.resume(handle.runId, { force: true })).result();
    expect(result).toMatchObject({ output: 'draft 1', score: 1, iterations: 2, stoppedBy: 'threshold' });
    expect(evaluations).toBe(2);
    expect(model.calls.map((call) => call.providerOptions?.baton?.turn)).toEqual([0, 1, 1]);
    await second.close();
  });

  it('scores an unparseable evaluation 0 and says so; accepts evaluator workflows returning objects', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      writer: [{ text: 'v1' }, { text: 'v2' }],
      judge: [{ text: 'Pretty good I guess' }, { text: '{"score": "0.85", "feedback": "ok"}' }],
    });
    const result = await (
      await runtime.start(
        loop({
          name: 'vague',
          generator: agent({ name: 'writer', instructions: 'w', model }),
          evaluator: agent({ name: 'judge', instructions: 'j', model }),
          threshold: 0.8,
        }),
        'task',
      )
    ).result();
    expect(result).toMatchObject({ output: 'v2', score: 0.85, iterations: 2 });
    expect(result.history[0]).toMatchObject({ score: 0, feedback: 'Pretty good I guess' });
    const first = events.find((event) => event.type === 'pattern-decision');
    expect(first).toMatchObject({ decision: 'refine', data: { parsedAs: 'unparseable' } });

    const scorer = workflow({ name: 'scorer' }, async () => ({ score: 1, feedback: '' }));
    const generator = workflow({ name: 'gen' }, async () => 'done');
    const direct = await (
      await runtime.start(loop({ name: 'direct', generator, evaluator: scorer, threshold: 1 }), 'x')
    ).result();
    expect(direct).toMatchObject({ output: 'done', score: 1, iterations: 1, stoppedBy: 'threshold' });
    await runtime.close();
  });

  it('fails with INVALID_EVALUATION when an evaluator function returns a bad score', async () => {
    const { runtime } = setup();
    const generator = workflow({ name: 'gen' }, async () => 'x');
    const error = (await (
      await runtime.start(
        loop({ name: 'bad-eval', generator, evaluator: () => ({ score: 7, feedback: '' }), threshold: 0.5 }),
        'x',
      )
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('INVALID_EVALUATION');
    expect(error.message).toContain(
      'loop("bad-eval"): the evaluator function must return { score: number from 0 to 1',
    );
    await runtime.close();
  });

  it('reads evaluations from objects and JSON text', () => {
    expect(parseEvaluation({ score: 0.5, feedback: 'meh' })).toEqual({ score: 0.5, feedback: 'meh' });
    expect(parseEvaluation('```json\n{"score": 1}\n```')).toEqual({ score: 1, feedback: '' });
    expect(parseEvaluation('{"score": 1.5}')).toBeUndefined();
    expect(parseEvaluation('{"score": ""}')).toBeUndefined();
    expect(parseEvaluation('great work')).toBeUndefined();
  });

  it('rejects bad options', () => {
    const generator = workflow({ name: 'gen' }, async () => 'x');
    const evaluator = () => ({ score: 1, feedback: '' });
    expect(() => loop({ name: 'l', generator, evaluator, threshold: 1.5 })).toThrow(
      /loop\("l"\): threshold must be a number from 0 to 1, got 1.5/,
    );
    expect(() => loop({ name: 'l', generator, evaluator, threshold: 0.5, maxIterations: 0 })).toThrow(
      /maxIterations must be an integer >= 1/,
    );
    expect(() => loop({ name: 'l', generator, evaluator: 'judge' as never, threshold: 0.5 })).toThrow(
      /loop\("l"\): evaluator \(a function, agent, workflow or pattern\) is not an agent/,
    );
    expect(() => loop({ name: 'l', generator: null as never, evaluator, threshold: 0.5 })).toThrow(
      /generator is not an agent/,
    );
  });
});
