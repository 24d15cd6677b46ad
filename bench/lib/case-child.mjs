// Runs one benchmark case in its own process (started with --expose-gc) and reports the result.
//
// Usage: node --expose-gc bench/lib/case-child.mjs <case file> [full|quick]
// With an IPC channel (run.mjs) the result goes back through process.send; otherwise it is
// printed as JSON, which is handy for running one case by hand.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { measureHeapPerRun, measureLatency, PROFILES, timeRuns, warmUp } from './measure.mjs';
import { installNetworkGuard } from './network-guard.mjs';

const MODEL_CALLS_PER_RUN = 2;
const TOOL_CALLS_PER_RUN = 1;

/** Accepts a default-exported case object or a module with named exports. */
function loadCaseSpec(moduleNamespace, file) {
  const spec = moduleNamespace.default ?? moduleNamespace;
  if (typeof spec.name !== 'string' || spec.name.length === 0)
    throw new Error(`${file}: export a 'name' string`);
  if (typeof spec.setup !== 'function') throw new Error(`${file}: export an async 'setup' function`);
  return spec;
}

/** Relative import specifiers are relative to the case file; bare ones resolve from bench/. */
function resolveSpecifiers(specifiers, caseUrl) {
  return specifiers.map((specifier) =>
    specifier.startsWith('./') || specifier.startsWith('../') ? new URL(specifier, caseUrl).href : specifier,
  );
}

function inferKind(spec) {
  if (spec.kind === 'floor' || spec.kind === 'peer' || spec.kind === 'subject') return spec.kind;
  return spec.name.startsWith('baton') ? 'subject' : 'peer';
}

/** Checks the counters after a phase: each run is two model calls and one tool execution. */
function createVerifier(instance, caseName, guard) {
  const countTools = () => instance.toolCalls();
  const countModel = () => (typeof instance.modelCalls === 'function' ? instance.modelCalls() : undefined);
  const totals = { runs: 0, toolCalls: 0, modelCalls: typeof instance.modelCalls === 'function' ? 0 : null };
  let toolsBefore = countTools();
  let modelBefore = countModel();
  return {
    totals,
    check(phase, runs) {
      const toolsNow = countTools();
      const modelNow = countModel();
      const toolDelta = toolsNow - toolsBefore;
      if (toolDelta !== runs * TOOL_CALLS_PER_RUN) {
        throw new Error(`${caseName} (${phase}): ${runs} runs executed the add tool ${toolDelta} times`);
      }
      if (modelNow !== undefined) {
        const modelDelta = modelNow - modelBefore;
        if (modelDelta !== runs * MODEL_CALLS_PER_RUN) {
          throw new Error(`${caseName} (${phase}): ${runs} runs made ${modelDelta} model calls`);
        }
        totals.modelCalls += modelDelta;
      }
      if (guard.attempts() > 0) {
        throw new Error(`${caseName} (${phase}): tried to use the network: ${guard.targets().join(', ')}`);
      }
      totals.runs += runs;
      totals.toolCalls += toolDelta;
      toolsBefore = toolsNow;
      modelBefore = modelNow;
    },
  };
}

function normalizeMetrics(value) {
  const metrics = {};
  for (const [label, metric] of Object.entries(value ?? {})) {
    if (typeof metric === 'number' || typeof metric === 'string') metrics[label] = metric;
  }
  return metrics;
}

/** A target passes when `pass` says so, or (without `pass`) when value <= limit. */
function normalizeTargets(list) {
  return (list ?? []).map((target) => {
    const value = typeof target.value === 'number' ? target.value : Number.NaN;
    const limit = typeof target.limit === 'number' ? target.limit : Number.NaN;
    const pass = typeof target.pass === 'boolean' ? target.pass : Number.isFinite(value) && value <= limit;
    return {
      label: String(target.label),
      value,
      limit,
      pass,
      unit: target.unit ?? '',
      atLeast: target.atLeast === true,
    };
  });
}

async function runCase(file, profileName) {
  const profile = PROFILES[profileName];
  if (!profile) throw new Error(`unknown profile ${profileName}`);
  const guard = installNetworkGuard();
  const caseUrl = pathToFileURL(file).href;
  const spec = loadCaseSpec(await import(caseUrl), file);
  if (Array.isArray(spec.localServers)) guard.allow(spec.localServers);
  const result = {
    ok: false,
    name: spec.name,
    kind: inferKind(spec),
    description: spec.description ?? '',
    file,
    importSpecifiers: resolveSpecifiers(spec.importSpecifiers ?? [caseUrl], caseUrl),
    packages: spec.packages ?? [],
    node: process.version,
    loadAverage: os.loadavg()[0],
  };
  let phase = 'setup';
  try {
    const setupStart = process.hrtime.bigint();
    const instance = await spec.setup();
    result.setupMs = Number(process.hrtime.bigint() - setupStart) / 1e6;
    if (typeof instance?.runOnce !== 'function' || typeof instance.toolCalls !== 'function') {
      throw new Error(`${spec.name}: setup() must return { runOnce, close, toolCalls }`);
    }
    const verifier = createVerifier(instance, spec.name, guard);
    const runOnce = instance.runOnce.bind(instance);

    phase = 'first run';
    result.firstRunMs = (await timeRuns(runOnce, 1)) / 1e6;
    verifier.check(phase, 1);

    phase = 'warm-up';
    result.warmup = await warmUp(runOnce, profile);
    verifier.check(phase, result.warmup.runs);

    phase = 'timed batches';
    result.latency = await measureLatency(runOnce, { ...profile, ...result.warmup });
    verifier.check(phase, result.latency.runs);

    // Last, when the code is as warm as it gets: early windows still grow the heap with JIT code
    // and inline caches, which would read as a few hundred bytes "kept" per run.
    phase = 'heap';
    result.heap = await measureHeapPerRun(runOnce, { ...profile, ...result.warmup });
    verifier.check(phase, result.heap.runs);

    result.verification = { ...verifier.totals, networkAttempts: guard.attempts() };

    phase = 'metrics';
    const measured = {
      usPerRun: result.latency.medianUs,
      minUsPerRun: result.latency.minUs,
      heapBytesPerRun: result.heap.bytesPerRun,
    };
    const instanceMetrics = typeof instance.metrics === 'function' ? await instance.metrics(measured) : {};
    phase = 'close';
    if (typeof instance.close === 'function') await instance.close();
    phase = 'metrics';
    const moduleMetrics = typeof spec.metrics === 'function' ? await spec.metrics(measured) : {};
    result.metrics = normalizeMetrics({ ...instanceMetrics, ...moduleMetrics });

    phase = 'targets';
    const targets =
      typeof spec.targets === 'function'
        ? await spec.targets({ ...measured, metrics: result.metrics })
        : spec.targets;
    result.targets = normalizeTargets(targets);
    result.loadAverageEnd = os.loadavg()[0];
    result.ok = true;
  } catch (error) {
    result.error = `${phase}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  }
  return result;
}

const [file, profileName = 'full'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --expose-gc bench/lib/case-child.mjs <case file> [full|quick]\n');
  process.exit(2);
}
const result = await runCase(file, profileName).catch((error) => ({
  ok: false,
  name: file,
  file,
  error: `load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
}));
if (typeof process.send === 'function') {
  // Frameworks may leave timers or sockets behind; the result is all the parent needs.
  process.send(result, () => process.exit(0));
} else {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.ok ? 0 : 1);
}
