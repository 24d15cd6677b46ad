// Shared by bench/cases/baton-patterns.mjs (not a case itself: files starting with `_` are skipped):
// an instant fake model that answers per agent, one builder per orchestration pattern, and the
// 100-agent fan-out on a model that really sleeps 100 ms per call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baton, batonSqlite } from '../lib/baton-agent.mjs';
import { median } from '../lib/measure.mjs';

const testing = await import(new URL('../../dist/testing/index.js', import.meta.url).href);

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 3, text: 3, reasoning: 0 },
};

/** The text of the last message of a prompt (all its text parts), '' when it has none. */
function lastText(prompt) {
  const last = prompt[prompt.length - 1];
  if (last === undefined) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('');
}

/**
 * An instant model (LanguageModelV3) that asks `reply({ agent, last, lastRole })` what to answer:
 * `{ text }` or `{ toolCalls: [{ name, input }] }`. As cheap as the fake behind baton-memory (no
 * token estimate, no call log), so per-turn figures compare with it. Counts its calls.
 */
export function createInstantModel(reply) {
  let calls = 0;
  let nextId = 0;
  const model = {
    specificationVersion: 'v3',
    provider: 'fake',
    modelId: 'instant',
    supportedUrls: {},
    async doGenerate(options) {
      calls += 1;
      const agent = options.providerOptions?.baton?.agent;
      const lastMessage = options.prompt[options.prompt.length - 1];
      const answer = reply({ agent, lastRole: lastMessage?.role, last: lastText(options.prompt) });
      if (answer.toolCalls !== undefined) {
        return {
          content: answer.toolCalls.map((call) => {
            nextId += 1;
            return {
              type: 'tool-call',
              toolCallId: `call_${nextId}`,
              toolName: call.name,
              input: JSON.stringify(call.input),
            };
          }),
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage,
          warnings: [],
        };
      }
      return {
        content: [{ type: 'text', text: answer.text }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    },
    async doStream() {
      throw new Error('the bench never streams');
    },
  };
  return { model, calls: () => calls };
}

/** `<agent> ok`: what every plain member answers, so outputs can be checked. */
const ok = (agent) => `${agent} ok`;

/** A pattern factory exported from the built package's root; undefined when it has none. */
function findExport(exportName) {
  return typeof baton[exportName] === 'function' ? baton[exportName] : undefined;
}

/** Plain agents `prefix1..prefixN` on `model`. */
function members(model, prefix, count) {
  return Array.from({ length: count }, (_, index) =>
    baton.agent({ name: `${prefix}${index + 1}`, instructions: 'Answer briefly.', model }),
  );
}

const isOk = (agent) => (output) => output === ok(agent);

/**
 * One entry per pattern: where its factory lives, the model calls (agent turns) one run makes
 * (undefined: whatever the first run makes, then checked to stay the same), and `build(factory)`
 * returning `{ runnable, input, calls, check(output) }` on an instant model.
 */
export const patternWorkloads = [
  {
    pattern: 'sequential',
    label: 'sequential (4 agents)',
    turns: 4,
    build(sequential) {
      const { model, calls } = createInstantModel(({ agent }) => ({ text: ok(agent) }));
      const stages = members(model, 'stage', 4);
      return {
        runnable: sequential({ name: 'pipeline', stages }),
        input: 'go',
        calls,
        check: isOk('stage4'),
      };
    },
  },
  {
    pattern: 'concurrent',
    label: "concurrent (4 agents, 'collect')",
    turns: 4,
    build(concurrent) {
      const { model, calls } = createInstantModel(({ agent }) => ({ text: ok(agent) }));
      const units = members(model, 'unit', 4);
      return {
        runnable: concurrent({ name: 'panel', units, aggregate: 'collect' }),
        input: 'go',
        calls,
        check: (output) =>
          units.every((unit) => output?.[unit.name] === ok(unit.name)) && Object.keys(output).length === 4,
      };
    },
  },
  {
    pattern: 'handoff',
    label: 'handoff (2 agents, 1 transfer)',
    turns: 2,
    build(handoff) {
      const { model, calls } = createInstantModel(({ agent }) =>
        agent === 'triage'
          ? { toolCalls: [{ name: 'transfer_to_specialist', input: {} }] }
          : { text: ok(agent) },
      );
      const triage = baton.agent({ name: 'triage', instructions: 'Route the request.', model });
      const specialist = baton.agent({ name: 'specialist', instructions: 'Answer.', model });
      return {
        runnable: handoff({ name: 'support', entry: triage, agents: [specialist] }),
        input: 'help',
        calls,
        check: isOk('specialist'),
      };
    },
  },
  {
    pattern: 'supervisor',
    label: 'supervisor (manager + 2 workers, both in one turn)',
    turns: 4,
    build(supervisor) {
      const { model, calls } = createInstantModel(({ agent, lastRole }) => {
        if (agent !== 'manager') return { text: ok(agent) };
        if (lastRole === 'tool') return { text: ok(agent) };
        return {
          toolCalls: [
            { name: 'worker1', input: { input: 'part one' } },
            { name: 'worker2', input: { input: 'part two' } },
          ],
        };
      });
      const workers = Array.from({ length: 2 }, (_, index) =>
        baton.agent({
          name: `worker${index + 1}`,
          description: `Does part ${index + 1}.`,
          instructions: 'Do your part.',
          model,
        }),
      );
      const manager = baton.agent({ name: 'manager', instructions: 'Delegate, then answer.', model });
      return {
        runnable: supervisor({ name: 'team', manager, workers }),
        input: 'do both parts',
        calls,
        check: isOk('manager'),
      };
    },
  },
  {
    pattern: 'groupChat',
    label: 'groupChat (4 members, round-robin, 4 rounds)',
    turns: 4,
    build(groupChat) {
      const { model, calls } = createInstantModel(({ agent }) => ({ text: ok(agent) }));
      return {
        runnable: groupChat({ name: 'chat', members: members(model, 'member', 4), maxRounds: 4 }),
        input: 'discuss',
        calls,
        check: (output) => output?.rounds === 4 && output.final === ok('member4'),
      };
    },
  },
  {
    pattern: 'makerChecker',
    label: 'makerChecker (approved in round 1)',
    turns: 2,
    build(makerChecker) {
      const { model, calls } = createInstantModel(({ agent }) =>
        agent === 'checker' ? { text: '{"approved": true, "feedback": ""}' } : { text: ok(agent) },
      );
      const maker = baton.agent({ name: 'maker', instructions: 'Write it.', model });
      const checker = baton.agent({ name: 'checker', instructions: 'Judge it.', model });
      return {
        runnable: makerChecker({ name: 'review', maker, checker, criteria: 'correct' }),
        input: 'write it',
        calls,
        check: (output) => output?.approved === true && output.output === ok('maker'),
      };
    },
  },
  {
    pattern: 'loop',
    label: 'loop (generator + evaluator agents, threshold met in iteration 1)',
    turns: 2,
    build(loop) {
      const { model, calls } = createInstantModel(({ agent }) =>
        agent === 'evaluator' ? { text: '{"score": 1, "feedback": "good"}' } : { text: ok(agent) },
      );
      const generator = baton.agent({ name: 'generator', instructions: 'Write it.', model });
      const evaluator = baton.agent({ name: 'evaluator', instructions: 'Score it.', model });
      return {
        runnable: loop({ name: 'polish', generator, evaluator, threshold: 0.9 }),
        input: 'write it',
        calls,
        check: (output) => output?.stoppedBy === 'threshold' && output.output === ok('generator'),
      };
    },
  },
  {
    pattern: 'magentic',
    label: 'magentic (manager + 2 members, satisfied after round 1)',
    turns: undefined,
    build(magentic) {
      const taskLedger = JSON.stringify({
        facts: { given: ['the task'], toLookUp: [], toDerive: [], guesses: [] },
        plan: ['member1: do it'],
      });
      const progress = (satisfied) =>
        JSON.stringify({
          requestSatisfied: { answer: satisfied, reason: satisfied ? 'done' : 'not started' },
          inLoop: { answer: false, reason: 'first pass' },
          progressBeingMade: { answer: true, reason: 'started' },
          nextSpeaker: { answer: 'member1', reason: 'plan step 1' },
          instruction: { answer: 'Do it.', reason: 'plan step 1' },
        });
      const { model, calls } = createInstantModel(({ agent, last }) => {
        if (agent !== 'manager') return { text: ok(agent) };
        if (last.startsWith('# Task ledger') || last.startsWith('# Replan')) return { text: taskLedger };
        if (last.startsWith('# Progress check')) return { text: progress(last.includes(ok('member1'))) };
        return { text: ok('manager') };
      });
      const manager = baton.agent({ name: 'manager', instructions: 'Manage.', model });
      const team = Array.from({ length: 2 }, (_, index) =>
        baton.agent({
          name: `member${index + 1}`,
          description: `Member ${index + 1}.`,
          instructions: 'Do what you are asked.',
          model,
        }),
      );
      return {
        runnable: magentic({ name: 'research', manager, members: team }),
        input: 'research it',
        calls,
        check: (output) => (output?.answer ?? output) === ok('manager'),
      };
    },
  },
];

/**
 * Builds one pattern's workload on a fresh in-memory runtime, or says why it cannot.
 * @returns {Promise<{ available: true, runtime, runOnce, calls } | { available: false, reason: string }>}
 */
export async function preparePattern(workload) {
  const factory = findExport(workload.pattern);
  if (factory === undefined)
    return {
      available: false,
      reason: `no ${workload.pattern} export from the package root`,
    };
  let built;
  try {
    built = await workload.build(factory);
  } catch (error) {
    return {
      available: false,
      reason: `building it failed: ${error instanceof Error ? error.message : error}`,
    };
  }
  const runtime = baton.createRuntime({ store: baton.createMemoryStore(), recover: false });
  const runOnce = async () => {
    const handle = await runtime.start(built.runnable, built.input);
    const output = await handle.result();
    if (!built.check(output))
      throw new Error(`${workload.pattern}: unexpected output ${JSON.stringify(output)?.slice(0, 300)}`);
  };
  return { available: true, runtime, runOnce, calls: built.calls };
}

/** Agents in the fan-out. */
export const FAN_OUT = 100;
/** Each fan-out agent's model call sleeps this long (scriptedModel's `delayMs`). */
export const MODEL_DELAY_MS = 100;

/**
 * The fan-out: `concurrent` over 100 agents with the 'collect' aggregator, on `store`, every
 * agent's model a `scriptedModel` turn with `delayMs: 100` (a real timer). `runOnce()` resolves
 * to the run's wall time in milliseconds and throws unless all 100 answers are there.
 */
export function createFanOut(store) {
  const model = testing.scriptedModel(({ agent }) => ({ text: `${agent} answer`, delayMs: MODEL_DELAY_MS }));
  const units = Array.from({ length: FAN_OUT }, (_, index) =>
    baton.agent({ name: `agent_${String(index).padStart(3, '0')}`, instructions: 'Answer.', model }),
  );
  const fanOut = baton.concurrent({ name: 'fan-out', units, aggregate: 'collect' });
  const runtime = baton.createRuntime({ store, recover: false });
  const runOnce = async () => {
    const callsBefore = model.calls.length;
    const started = process.hrtime.bigint();
    const handle = await runtime.start(fanOut, 'question');
    const output = await handle.result();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const answers = Object.entries(output ?? {}).filter(([unit, text]) => text === `${unit} answer`);
    if (answers.length !== FAN_OUT || Object.keys(output).length !== FAN_OUT)
      throw new Error(`fan-out: ${answers.length} of ${FAN_OUT} answers`);
    if (model.calls.length - callsBefore !== FAN_OUT)
      throw new Error(`fan-out: ${model.calls.length - callsBefore} model calls for ${FAN_OUT} agents`);
    if (ms < MODEL_DELAY_MS)
      throw new Error(`fan-out: ${ms} ms is less than the model's ${MODEL_DELAY_MS} ms`);
    return ms;
  };
  return { runtime, runOnce };
}

/** Median, min and max wall ms of `runs` fan-out runs on `store` after `warmups` unrecorded ones. */
export async function measureFanOut(store, { runs, warmups }) {
  const { runtime, runOnce } = createFanOut(store);
  try {
    for (let index = 0; index < warmups; index++) await runOnce();
    const samples = [];
    for (let index = 0; index < runs; index++) samples.push(await runOnce());
    return { medianMs: median(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples), samples };
  } finally {
    await runtime.close();
  }
}

/** A SQLite store in a fresh temp directory, and a `dispose()` that closes it and removes the directory. */
export function temporarySqliteStore() {
  const directory = mkdtempSync(join(tmpdir(), 'baton-bench-fanout-'));
  const store = batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') });
  return {
    store,
    dispose: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
