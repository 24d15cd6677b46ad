import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  contains,
  dataset,
  EvalIncompleteError,
  type EvalSubject,
  evalHistory,
  exactMatch,
  judge,
  loadDatasetFile,
  matchesSchema,
  maxCost,
  maxLatency,
  maxTokens,
  outcomeScore,
  parseJsonl,
  runEval,
  scorer,
  toolCalls,
} from '../../src/evals/index.js';
import {
  agent,
  createMemoryStore,
  createRuntime,
  evolving,
  policyStats,
  tool,
  workflow,
} from '../../src/index.js';
import { type ScriptedRequest, scriptedModel } from '../../src/testing/index.js';

/** A subject for scorer unit tests: a completed run with this output. */
function subject(output: unknown, extra: Partial<EvalSubject> = {}): EvalSubject {
  return {
    case: { id: 'c1', input: 'q', ...(extra.case ?? {}) },
    input: 'q',
    output,
    expected: undefined,
    runId: 'run_1',
    status: 'completed',
    error: undefined,
    toolCalls: [],
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    costUsd: 0.002,
    durationMs: 120,
    journal: [],
    ...extra,
  };
}

describe('built-in scorers', () => {
  it('exactMatch compares trimmed text, or JSON with keys in any order', async () => {
    expect(await exactMatch().score(subject(' 5\n', { expected: '5' }), {})).toMatchObject({
      score: 1,
      pass: true,
    });
    expect(await exactMatch().score(subject('6', { expected: '5' }), {})).toMatchObject({
      score: 0,
      pass: false,
      reason: 'expected "5", got "6"',
    });
    expect(await exactMatch({ ignoreCase: true, expected: 'YES' }).score(subject('yes'), {})).toMatchObject({
      pass: true,
    });
    expect(
      await exactMatch().score(subject({ b: 2, a: [1] }, { expected: { a: [1], b: 2 } }), {}),
    ).toMatchObject({
      pass: true,
    });
    expect((await exactMatch().score(subject('x'), {})).reason).toBe('the case gives no expected output');
    expect(
      await exactMatch().score(
        subject(undefined, {
          expected: '5',
          status: 'failed',
          error: { name: 'Error', message: 'boom', fault: 'tool', class: 'tool' } as never,
        }),
        {},
      ),
    ).toMatchObject({ pass: false, reason: 'the run did not complete (failed: boom)' });
  });

  it('contains scores the fraction of texts found', async () => {
    const scored = await contains({ text: ['refund', 'A-1001', 'sorry'], ignoreCase: true }).score(
      subject('Refund issued for A-1001.'),
      {},
    );
    expect(scored).toMatchObject({ pass: false, reason: 'missing "sorry"' });
    expect(scored.score).toBeCloseTo(2 / 3);
    expect(
      await contains().score(subject('ok', { case: { id: 'c', input: 'q', contains: 'ok' } }), {}),
    ).toMatchObject({
      pass: true,
    });
    expect(() => contains({ text: [] })).toThrow(/non-empty/);
  });

  it('matchesSchema takes zod or JSON Schema and parses JSON (fenced too) from text', async () => {
    const zod = matchesSchema({ schema: z.object({ refund: z.boolean() }) });
    expect(await zod.score(subject('```json\n{"refund": true}\n```'), {})).toMatchObject({ pass: true });
    expect(await zod.score(subject({ refund: 'yes' }), {})).toMatchObject({
      pass: false,
      reason: expect.stringMatching(/^does not match the schema at refund: /),
    });
    expect(await zod.score(subject('not json'), {})).toMatchObject({
      pass: false,
      reason: expect.stringMatching(/not JSON/),
    });
    const fromCase = matchesSchema();
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    expect(
      await fromCase.score(subject({ n: 3 }, { case: { id: 'c', input: 1, schema } }), {}),
    ).toMatchObject({
      pass: true,
    });
    expect(await fromCase.score(subject({}, { case: { id: 'c', input: 1, schema } }), {})).toMatchObject({
      pass: false,
    });
  });

  it('toolCalls checks names, order and contained arguments', async () => {
    const made = [
      { name: 'lookup', args: { orderId: 'A-1001', verbose: true } },
      { name: 'log', args: {} },
      { name: 'refund', args: { orderId: 'A-1001', amount: 20 } },
    ];
    const expected = [
      { name: 'lookup', args: { orderId: 'A-1001' } },
      { name: 'refund', args: { amount: 20 } },
    ];
    expect(await toolCalls({ expected }).score(subject('', { toolCalls: made }), {})).toMatchObject({
      score: 1,
      pass: true,
    });
    // exact: the log call between them is not expected.
    const exact = await toolCalls({ expected, order: 'exact' }).score(subject('', { toolCalls: made }), {});
    expect(exact.pass).toBe(false);
    expect(exact.reason).toContain('missing or out of order: refund');
    expect(exact.reason).toContain('1 call not expected');
    expect(exact.score).toBeCloseTo(1 / 3, 3);
    // Out of order fails in-order, passes any.
    const reversed = [...expected].reverse();
    expect((await toolCalls({ expected: reversed }).score(subject('', { toolCalls: made }), {})).score).toBe(
      0.5,
    );
    expect(
      await toolCalls({ expected: reversed, order: 'any' }).score(subject('', { toolCalls: made }), {}),
    ).toMatchObject({
      pass: true,
    });
    // Wrong arguments do not match.
    expect(
      await toolCalls({ expected: [{ name: 'refund', args: { amount: 21 } }] }).score(
        subject('', { toolCalls: made }),
        {},
      ),
    ).toMatchObject({ pass: false, score: 0 });
    expect(() => toolCalls({ expected: [{ name: 'x', arg: 1 } as never] })).toThrow(/unknown field "arg"/);
  });

  it('limits pass at or under the limit and score limit ÷ value over it', async () => {
    expect(await maxCost(0.01).score(subject(''), {})).toMatchObject({ pass: true });
    expect(await maxCost(0.001).score(subject(''), {})).toMatchObject({ pass: false, score: 0.5 });
    expect(await maxLatency(60).score(subject(''), {})).toMatchObject({
      pass: false,
      score: 0.5,
      reason: 'took 120 ms > 60 ms',
    });
    expect(await maxTokens(15).score(subject(''), {})).toMatchObject({ pass: true });
    expect(() => maxTokens(-1)).toThrow(/finite number ≥ 0/);
  });

  it('scorer() accepts a Score, a number or a boolean, and names itself in a bad answer', async () => {
    expect(await scorer({ name: 'yes', score: () => true }).score(subject(''), {})).toMatchObject({
      score: 1,
      pass: true,
    });
    expect(
      await scorer({ name: 'half', score: () => 0.5, passAt: 0.5 }).score(subject(''), {}),
    ).toMatchObject({
      score: 0.5,
      pass: true,
    });
    expect(await scorer({ name: 'half', score: () => 0.5 }).score(subject(''), {})).toMatchObject({
      pass: false,
    });
    await expect(scorer({ name: 'bad', score: () => 2 }).score(subject(''), {})).rejects.toThrow(
      /scorer "bad" returned a score that: must be a number from 0 to 1; got 2/,
    );
    await expect(
      scorer({ name: 'none', score: () => undefined as never }).score(subject(''), {}),
    ).rejects.toThrow(/returned nothing/);
    expect(() => scorer({ name: 'has space', score: () => 1 })).toThrow(/scorer name/);
  });

  it('judge() asks the model with the rubric and maps its answer onto 0–1, with the call’s usage', async () => {
    const model = scriptedModel((request: ScriptedRequest) => {
      const system = request.prompt[0];
      const user = JSON.stringify(request.prompt[1]);
      expect(system?.role).toBe('system');
      expect(JSON.stringify(system)).toContain('Mentions the refund.');
      expect(user).toContain('OUTPUT:\\nRefund issued.');
      return {
        text: '{"score": 4, "reason": "clear and polite"}',
        usage: { inputTokens: 50, outputTokens: 8 },
      };
    });
    const scored = await judge({ model, rubric: 'Mentions the refund.' }).score(
      subject('Refund issued.'),
      {},
    );
    expect(scored).toMatchObject({ score: 0.75, pass: true, reason: '4/5: clear and polite' });
    expect(scored.usage?.totalTokens).toBe(58);
    const garbage = scriptedModel([{ text: 'I think it is fine' }, { text: '{"score": 9}' }]);
    const noJson = await judge({ model: garbage, rubric: 'x' }).score(subject('a'), {});
    expect(noJson).toMatchObject({ pass: false, score: 0, reason: expect.stringMatching(/not JSON/) });
    const outOfScale = await judge({ model: garbage, rubric: 'x' }).score(subject('a'), {});
    expect(outOfScale.reason).toMatch(/no integer score from 1 to 5/);
    expect(() => judge({ model, scale: { min: 5, max: 1 } })).toThrow(/min < max/);
    expect(() => judge({ model, passAt: 7 })).toThrow(/passAt must be on the scale/);
  });
});

describe('datasets', () => {
  it('parses JSONL with a line number in every error, refusing __proto__ and unknown fields', () => {
    const cases = parseJsonl(
      '{"input": "a", "expected": "b"}\n\n// a comment\n{"id": "two", "input": 2, "contains": "x"}\n',
      'd.jsonl',
    );
    expect(cases.map((evalCase) => evalCase.id)).toEqual(['line-1', 'two']);
    expect(() => parseJsonl('{"input": "a"}\n{"input": ', 'd.jsonl')).toThrow(/^d\.jsonl:2: not JSON/);
    expect(() => parseJsonl('{"input": "a", "expectd": "b"}', 'd.jsonl')).toThrow(
      /d\.jsonl:1: unknown field "expectd". Did you mean "expected"\?/,
    );
    expect(() => parseJsonl('{"input": {"__proto__": {"polluted": true}}}', 'd.jsonl')).toThrow(
      /d\.jsonl:1: .*__proto__/,
    );
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(() => parseJsonl('{"expected": "b"}', 'd.jsonl')).toThrow(/d\.jsonl:1: "input" is required/);
    expect(() => parseJsonl('{"input": 1, "toolCalls": [{"nam": "x"}]}', 'd.jsonl')).toThrow(
      /toolCalls\[0\]/,
    );
  });

  it('refuses duplicate ids and cases with nothing to score', () => {
    expect(() =>
      dataset({
        name: 'd',
        cases: [
          { id: 'a', input: 1, expected: 1 },
          { id: 'a', input: 2, expected: 2 },
        ],
      }),
    ).toThrow(/two cases have the id "a"/);
    expect(() => dataset({ name: 'd', cases: [{ input: 1 }] })).toThrow(/case "case-1" has nothing to score/);
    expect(
      dataset({ name: 'd', cases: [{ input: 1 }], scorers: [scorer({ name: 's', score: () => 1 })] }).cases,
    ).toHaveLength(1);
  });

  it('loads .jsonl and .json files and names a missing or unknown file type', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const folder = mkdtempSync(join(tmpdir(), 'baton-dataset-'));
    writeFileSync(join(folder, 'refunds.jsonl'), '{"input": "a", "expected": "b"}\n');
    writeFileSync(
      join(folder, 'named.json'),
      JSON.stringify({ name: 'mine', cases: [{ input: 1, expected: 1 }] }),
    );
    writeFileSync(join(folder, 'empty.jsonl'), '\n');
    expect((await loadDatasetFile(join(folder, 'refunds.jsonl'))).name).toBe('refunds');
    expect((await loadDatasetFile(join(folder, 'named.json'))).name).toBe('mine');
    await expect(loadDatasetFile(join(folder, 'empty.jsonl'), 'empty.jsonl')).rejects.toThrow(
      /empty\.jsonl: no cases/,
    );
    await expect(loadDatasetFile(join(folder, 'nope.jsonl'), 'nope.jsonl')).rejects.toThrow(
      /Cannot read the dataset nope\.jsonl/,
    );
    await expect(loadDatasetFile(join(folder, 'x.csv'), 'x.csv')).rejects.toThrow(
      /expected \.jsonl or \.json/,
    );
  });
});

/** A calculator whose model reads "a+b" from the input, calls add, and answers with the sum (`off` added). */
function calculator(version: string, off = 0, counter = { calls: 0, adds: 0 }) {
  const add = tool({
    name: 'add',
    description: 'Adds two numbers.',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: async ({ a, b }) => {
      counter.adds += 1;
      return a + b;
    },
  });
  const model = scriptedModel((request) => {
    counter.calls += 1;
    const last = request.prompt.at(-1);
    if (last?.role === 'tool') {
      const part = last.content[0] as { output: { value: unknown } };
      return { text: String(Number(part.output.value) + off), usage: { inputTokens: 20, outputTokens: 2 } };
    }
    const text = JSON.stringify(request.prompt);
    const [, a, b] = /(\d+)\+(\d+)/.exec(text) ?? [];
    return {
      toolCalls: [{ tool: 'add', input: { a: Number(a), b: Number(b) } }],
      usage: { inputTokens: 20, outputTokens: 5 },
    };
  });
  return agent({ name: 'calc', version, model, instructions: 'Add the numbers.', tools: [add] });
}

const sums = dataset({
  name: 'sums',
  cases: [
    { id: 'small', input: '2+3', expected: '5', toolCalls: [{ name: 'add', args: { a: 2, b: 3 } }] },
    { id: 'tens', input: '10+20', expected: '30', maxTokens: 1000 },
    { id: 'big', input: '400+600', contains: '1000' },
    { id: 'wrong', input: '1+1', expected: '3' },
  ],
});

describe('runEval', () => {
  it('runs each case as its own durable run, scores it and stores the results', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store });
    const seen: string[] = [];
    const report = await runEval({
      runtime,
      target: calculator('1'),
      dataset: sums,
      concurrency: 2,
      onCase: (result, progress) => seen.push(`${progress.done}/${progress.total} ${result.id}`),
    });
    expect(report.cases.map((result) => [result.id, result.pass])).toEqual([
      ['small', true],
      ['tens', true],
      ['big', true],
      ['wrong', false],
    ]);
    expect(report.cases[3]?.scores.exact?.reason).toBe('expected "3", got "2"');
    expect(report.cases[0]?.scores.tools).toMatchObject({ pass: true, reason: 'made add({"a":2,"b":3})' });
    expect(report.summary).toMatchObject({ cases: 4, passed: 3, passRate: 0.75, runsNotCompleted: 0 });
    expect(report.summary.scorers.exact).toEqual({ cases: 3, mean: 2 / 3, passRate: 2 / 3 });
    expect(report.comparison).toBeUndefined();
    expect(seen).toHaveLength(4);
    expect(seen.at(-1)).toMatch(/^4\/4 /);
    // Each case is a run of the target in the store, named after the eval and the case.
    const run = await runtime.get(`${report.evalId}:small`);
    expect(run).toMatchObject({ target: 'calc', status: 'completed', output: '5', input: '2+3' });
    expect(report.cases[0]?.tokens).toBe(run.usage.totalTokens);
    // The eval is stored: start, four cases, end.
    const records = await store.readRecords('eval:calc');
    expect(records.map((record) => (record.data as { kind: string }).kind)).toEqual([
      'eval-start',
      'eval-case',
      'eval-case',
      'eval-case',
      'eval-case',
      'eval-end',
    ]);
    const [history] = await evalHistory(store, 'calc');
    expect(history).toMatchObject({ evalId: report.evalId, summary: report.summary });
    expect(history?.cases).toHaveLength(4);
    await runtime.close();
  });

  it('compares with the previous eval of the same target and dataset and flags a regression', async () => {
    const store = createMemoryStore();
    const first = createRuntime({ store });
    const baseline = await runEval({ runtime: first, target: calculator('1'), dataset: sums });
    await first.close();
    // Version 2 answers one too many: 1+1 now gives the expected (wrong) 3, every other case fails.
    const second = createRuntime({ store });
    const worse = await runEval({ runtime: second, target: calculator('2', 1), dataset: sums });
    await second.close();
    expect(worse.comparison).toMatchObject({
      previousEvalId: baseline.evalId,
      shared: 4,
      regressed: true,
      passRate: { previous: 0.75, current: 0.25 },
    });
    expect(worse.comparison?.reasons).toEqual([
      'pass rate fell 50.0 points',
      expect.stringMatching(/^mean score fell /),
      'contains fell 100.0 points',
      'exact fell 33.3 points',
    ]);
    expect(worse.comparison?.regressedCases.map((change) => change.id)).toEqual(['small', 'tens', 'big']);
    expect(worse.comparison?.improvedCases.map((change) => change.id)).toEqual(['wrong']);
    // Back to version 1: better than the previous eval, no regression.
    const third = createRuntime({ store });
    const fixed = await runEval({ runtime: third, target: calculator('1'), dataset: sums, threshold: 0.1 });
    await third.close();
    expect(fixed.comparison).toMatchObject({
      previousEvalId: worse.evalId,
      regressed: false,
      threshold: 0.1,
    });
    expect(fixed.comparison?.improvedCases.map((change) => change.id)).toEqual(['small', 'tens', 'big']);
    expect(fixed.comparison?.regressedCases.map((change) => change.id)).toEqual(['wrong']);
  });

  it('resumes an eval whose scoring failed: scored cases and finished case runs are not repeated', async () => {
    const store = createMemoryStore();
    const counter = { calls: 0, adds: 0 };
    const target = calculator('1', 0, counter);
    let judgeUp = false;
    const flakyJudge = scriptedModel(() => {
      if (!judgeUp) return { error: 'judge provider overloaded' };
      return { text: '{"score": 5, "reason": "right"}' };
    });
    const data = dataset({
      name: 'judged',
      cases: [
        { id: 'a', input: '1+2', expected: '3' },
        { id: 'b', input: '3+4', rubric: 'Gives the sum.' },
      ],
      judge: flakyJudge,
    });
    const runtime = createRuntime({ store });
    const error = await runEval({ runtime, target, dataset: data }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EvalIncompleteError);
    expect((error as EvalIncompleteError).failures).toEqual([
      { caseId: 'b', message: expect.stringMatching(/scorer "judge" failed: .*judge provider overloaded/) },
    ]);
    expect((error as EvalIncompleteError).code).toBe('EVAL_INCOMPLETE');
    expect(counter).toEqual({ calls: 4, adds: 2 });
    judgeUp = true;
    const report = await runEval({ runtime, target, dataset: data });
    expect(report.evalId).toBe((error as EvalIncompleteError).evalId);
    expect(report.resumedCases).toBe(1);
    expect(report.cases.map((result) => result.pass)).toEqual([true, true]);
    expect(report.cases[1]?.scores.judge?.reason).toBe('5/5: right');
    // Neither case's run called its model or tool again.
    expect(counter).toEqual({ calls: 4, adds: 2 });
    // A later eval starts anew, and `resume: false` does too.
    const again = await runEval({ runtime, target, dataset: data });
    expect(again.evalId).not.toBe(report.evalId);
    expect(counter.calls).toBe(8);
    await runtime.close();
  });

  it('continues a case run an interrupted process left running, from its journal', async () => {
    const store = createMemoryStore();
    let released: (() => void) | undefined;
    let gateOpen = false;
    let charged = 0;
    const slow = workflow({ name: 'slow', version: '1' }, async (ctx, input: string) => {
      await ctx.step('charge', () => {
        charged += 1;
        return 'charged';
      });
      await ctx.step('wait', async () => {
        if (!gateOpen) await new Promise<void>((resolve) => (released = resolve));
        return 'ok';
      });
      return `done ${input}`;
    });
    const data = dataset({ name: 'slow', cases: [{ id: 'one', input: 'x', expected: 'done x' }] });
    const crashed = createRuntime({ store, leaseMs: 200 });
    const interrupted = runEval({ runtime: crashed, target: slow, dataset: data }).catch(
      (caught: unknown) => caught,
    );
    // Wait for the case run to stop in its second step, then abandon the process's runtime.
    for (let waited = 0; released === undefined && waited < 200; waited++)
      await new Promise((r) => setTimeout(r, 10));
    expect(released).toBeDefined();
    const [start] = await store.readRecords('eval:slow');
    const evalId = (start?.data as { evalId: string } | undefined)?.evalId;
    expect((await store.getRun(`${evalId}:one`))?.status).toBe('running');
    gateOpen = true;
    // The first process still renews its lease: a second eval waits for it, or takes it with force.
    const fresh = createRuntime({ store, leaseMs: 200 });
    const report = await runEval({ runtime: fresh, target: slow, dataset: data, force: true });
    expect(report.evalId).toBe(evalId);
    expect(report.cases[0]).toMatchObject({ pass: true, runId: `${evalId}:one` });
    // The first step's journal entry was reused: the charge ran once.
    expect(charged).toBe(1);
    // The first process's step ends after it lost the run: nothing it does is recorded in the
    // run (its writes are fenced), and it finds the run completed by the other and scores the same.
    released?.();
    const stale = (await interrupted) as Awaited<ReturnType<typeof runEval>>;
    expect(stale.evalId).toBe(evalId);
    expect(stale.cases[0]).toMatchObject({ pass: true, runId: `${evalId}:one` });
    expect(charged).toBe(1);
    const [stored] = await evalHistory(store, 'slow');
    expect(stored?.evalId).toBe(evalId);
    await fresh.close();
    await crashed.close();
  });

  it('refuses a rubric without a judge before running anything, and bad options', async () => {
    const runtime = createRuntime({ store: createMemoryStore() });
    const data = dataset({ name: 'r', cases: [{ input: '1+1', rubric: 'Right sum.' }] });
    await expect(runEval({ runtime, target: calculator('1'), dataset: data })).rejects.toThrow(
      /case "case-1" has a rubric but no judge model/,
    );
    expect(await runtime.list()).toEqual([]);
    await expect(
      runEval({ runtime, target: calculator('1'), dataset: sums, concurrency: 0 }),
    ).rejects.toThrow(/concurrency must be an integer from 1 to 256/);
    await expect(runEval({ runtime, target: calculator('1'), dataset: sums, threshold: 2 })).rejects.toThrow(
      /threshold: must be a number from 0 to 1/,
    );
    await runtime.close();
  });

  it('feeds case scores to an evolving policy as outcomes of the target version', async () => {
    const store = createMemoryStore();
    for (const [version, off] of [
      ['1', 0],
      ['2', 1],
    ] as const) {
      const each = createRuntime({ store });
      await runEval({
        runtime: each,
        target: calculator(version, off),
        dataset: sums,
        policy: { name: 'calc-policy' },
      });
      await each.close();
    }
    const runtime = createRuntime({ store });
    const stats = await policyStats(store, 'calc-policy');
    expect(stats.map((row) => [row.key, row.trials, row.meanScore])).toEqual([
      ['calc@1', 4, expect.closeTo(0.75, 5)],
      // Mean of each case's mean score: small 0.5 (tools right, sum wrong), tens 0.5, big 0, wrong 1.
      ['calc@2', 4, expect.closeTo(0.5, 5)],
    ]);
    // outcomeScore rates live outputs of an evolving policy with the same scorers.
    const policy = evolving({
      name: 'live',
      store,
      candidates: [calculator('1')],
      score: outcomeScore([contains({ text: '5' }), maxCost(1)]),
    });
    const handle = await runtime.start(policy, '2+3');
    expect(await handle.result()).toBe('5');
    const [live] = await policyStats(store, 'live');
    expect(live).toMatchObject({ trials: 1, meanScore: 1 });
    await runtime.close();
  });
});
