// `npm run bench`: runs every bench/cases/*.mjs in its own process, prints a table, writes RESULTS.md.
//
// Usage: node bench/run.mjs [--quick] [--repeat N] [--no-write] [name-filter ...]
//   --quick     short durations (smoke test), one process per case; RESULTS.md is not written
//   --repeat N  processes per case (default 2); the one with the lowest median µs/run is reported
//   --no-write  print only
//   filters     run only cases whose name contains one of the words; RESULTS.md is not written

import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDependencies } from './lib/dependencies.mjs';
import { measureImportMs, measureImportPair, PROFILES } from './lib/measure.mjs';
import { installedVersion, renderConsole, renderMarkdown } from './lib/report.mjs';
import { AI_IMPORT_SPECIFIERS, applySuiteTargets } from './lib/suite-targets.mjs';

const benchDirectory = path.dirname(fileURLToPath(import.meta.url));
const casesDirectory = path.join(benchDirectory, 'cases');
const childScript = path.join(benchDirectory, 'lib', 'case-child.mjs');
const CASE_TIMEOUT_MS = Number(process.env.BENCH_CASE_TIMEOUT_MS ?? 600_000);
const DEFAULT_REPEAT = 2;

function parseArguments(argv) {
  const options = { quick: false, write: true, filters: [], repeat: undefined };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--quick') options.quick = true;
    else if (argument === '--no-write') options.write = false;
    else if (argument === '--repeat') {
      index += 1;
      options.repeat = Number(argv[index]);
      if (!Number.isInteger(options.repeat) || options.repeat < 1)
        throw new Error('--repeat needs a whole number ≥ 1');
    } else if (argument.startsWith('--')) throw new Error(`unknown option ${argument}`);
    else options.filters.push(argument);
  }
  return options;
}

function discoverCases(filters) {
  return readdirSync(casesDirectory)
    .filter((file) => file.endsWith('.mjs') && !file.startsWith('_'))
    .sort()
    .map((file) => path.join(casesDirectory, file))
    .filter((file) => filters.length === 0 || filters.some((filter) => path.basename(file).includes(filter)));
}

/** Runs one case file in a fresh `node --expose-gc` child and returns what it reports. */
function runCaseInChild(file, profileName) {
  return new Promise((resolve) => {
    const child = fork(childScript, [path.relative(benchDirectory, file), profileName], {
      cwd: benchDirectory,
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    let result;
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('message', (message) => {
      result = message;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const name = path.basename(file, '.mjs');
      const report = result ?? {
        ok: false,
        name,
        file,
        error: `child exited (${signal ?? `code ${code}`}) without a result`,
      };
      report.output = output.trim().slice(0, 20_000);
      resolve(report);
    });
  });
}

/** The child's own console output, indented, at most a screenful. */
function indentOutput(output, maxLines = 20) {
  const lines = output.split('\n');
  const shown = lines.slice(0, maxLines).map((line) => `    | ${line}`);
  if (lines.length > maxLines) shown.push(`    | ... ${lines.length - maxLines} more lines`);
  return `${shown.join('\n')}\n`;
}

/**
 * One result per case: a failed process fails the case; otherwise the process with the lowest
 * median µs/run (noise from other work on the machine only ever adds time), with every
 * process's median kept alongside.
 */
function pickReported(attempts) {
  const failed = attempts.find((attempt) => !attempt.ok);
  if (failed) return failed;
  const best = attempts.reduce((left, right) =>
    right.latency.medianUs < left.latency.medianUs ? right : left,
  );
  return { ...best, processMediansUs: attempts.map((attempt) => attempt.latency.medianUs) };
}

function summarize(result) {
  if (!result.ok) return `FAILED — ${result.error.split('\n')[0]}`;
  return `${result.latency.medianUs.toFixed(2)} µs/run, ${Math.round(result.heap.bytesPerRun)} B/run kept, ${result.verification.runs} runs verified`;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const profileName = options.quick ? 'quick' : 'full';
  const profile = PROFILES[profileName];
  const repeat = options.repeat ?? (options.quick ? 1 : DEFAULT_REPEAT);
  ensureDependencies(benchDirectory);

  const files = discoverCases(options.filters);
  if (files.length === 0)
    throw new Error(`no case in ${casesDirectory} matches ${options.filters.join(', ')}`);
  const loadStart = os.loadavg()[0];
  const busy = loadStart > os.cpus().length * 0.5;
  process.stdout.write(
    `bench: ${files.length} cases × ${repeat} process${repeat === 1 ? '' : 'es'}, ${profileName} profile, Node ${process.version}${busy ? ` — warning: load average ${loadStart.toFixed(2)}, numbers will be noisy` : ''}\n`,
  );

  const results = [];
  for (const file of files) {
    const attempts = [];
    for (let attempt = 1; attempt <= repeat; attempt += 1) {
      process.stdout.write(`  ${path.basename(file, '.mjs')}${repeat > 1 ? ` #${attempt}` : ''} ... `);
      const result = await runCaseInChild(file, profileName);
      attempts.push(result);
      process.stdout.write(`${summarize(result)}\n`);
      if (result.output) process.stdout.write(indentOutput(result.output));
      if (!result.ok) break;
    }
    results.push(pickReported(attempts));
  }

  process.stdout.write('bench: cold import times\n');
  const importCache = new Map();
  for (const result of results) {
    if (!result.ok || !result.importSpecifiers) continue;
    const key = JSON.stringify(result.importSpecifiers);
    if (!importCache.has(key)) {
      try {
        importCache.set(
          key,
          measureImportMs(result.importSpecifiers, { cwd: benchDirectory, samples: profile.importSamples }),
        );
      } catch (error) {
        process.stdout.write(`  ${result.name}: import timing failed: ${error.message}\n`);
        importCache.set(key, undefined);
      }
    }
    result.importTime = importCache.get(key);
    if (result.importTime)
      process.stdout.write(`  ${result.name}: ${result.importTime.medianMs.toFixed(1)} ms\n`);
  }

  const memory = results.find((result) => result.ok && result.name === 'baton-memory');
  if (memory?.importSpecifiers?.length) {
    // Root import ÷ the AI SDK's own import, alternating fresh processes so both see the same load.
    try {
      memory.importVersusAi = measureImportPair(memory.importSpecifiers, AI_IMPORT_SPECIFIERS, {
        cwd: benchDirectory,
        samples: profile.importSamples,
      });
      const { left, right, ratio } = memory.importVersusAi;
      process.stdout.write(
        `  baton root ÷ ai: ${left.medianMs.toFixed(1)} ms ÷ ${right.medianMs.toFixed(1)} ms = ${ratio.toFixed(2)}×\n`,
      );
    } catch (error) {
      process.stdout.write(`  baton root ÷ ai: import timing failed: ${error.message}\n`);
    }
  }

  applySuiteTargets(results);

  const manifest = JSON.parse(readFileSync(path.join(benchDirectory, 'package.json'), 'utf8'));
  const packageNames = [
    ...new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...results.flatMap((result) => result.packages ?? []),
    ]),
  ].sort();
  const versions = packageNames.map((name) => [name, installedVersion(name, benchDirectory)]);
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: os.cpus().length,
    memoryGb: (os.totalmem() / 1024 ** 3).toFixed(1),
    loadStart,
    loadEnd: os.loadavg()[0],
  };

  process.stdout.write(`\n${renderConsole(results)}\n\n`);

  const partial = options.quick || options.filters.length > 0;
  if (options.write && !partial) {
    writeFileSync(
      path.join(benchDirectory, 'RESULTS.md'),
      renderMarkdown({ results, environment, profile, profileName, repeat, versions }),
    );
    mkdirSync(path.join(benchDirectory, 'results'), { recursive: true });
    writeFileSync(
      path.join(benchDirectory, 'results', 'latest.json'),
      `${JSON.stringify({ environment, profileName, profile, repeat, versions, results }, null, 2)}\n`,
    );
    process.stdout.write('bench: wrote bench/RESULTS.md and bench/results/latest.json\n');
  } else {
    process.stdout.write('bench: partial or quick run, RESULTS.md left unchanged\n');
  }

  const failedTargets = results.flatMap((result) => (result.targets ?? []).filter((target) => !target.pass));
  const failedCases = results.filter((result) => !result.ok);
  if (failedCases.length > 0 || failedTargets.length > 0) {
    process.stdout.write(
      `bench: ${failedCases.length} case(s) failed, ${failedTargets.length} target(s) missed\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
