// Renders benchmark results: the console table and bench/RESULTS.md, including the ratios section.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const KIND_ORDER = { floor: 0, peer: 1, subject: 2 };

const grouped = (value, digits) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Microseconds with precision that suits the magnitude. */
export function formatUs(value) {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) < 10) return grouped(value, 2);
  if (Math.abs(value) < 100) return grouped(value, 1);
  return grouped(value, 0);
}

export function formatMs(value) {
  return Number.isFinite(value) ? grouped(value, value < 10 ? 2 : 1) : '-';
}

/** Bytes per run; values within ±1 byte are noise and shown as 0. */
export function formatBytes(value) {
  if (!Number.isFinite(value)) return '-';
  return Math.abs(value) < 1 ? '0' : grouped(Math.round(value), 0);
}

export function formatRatio(value) {
  if (!Number.isFinite(value)) return '-';
  return `${grouped(value, value < 10 ? 2 : value < 100 ? 1 : 0)}×`;
}

const formatNumber = (value) =>
  typeof value === 'number' ? (Number.isInteger(value) ? grouped(value, 0) : formatUs(value)) : String(value);

/** Results in display order: the floor first, then peers, then Baton's cases; by name within a kind. */
export function sortResults(results) {
  return [...results].sort(
    (left, right) =>
      (KIND_ORDER[left.kind] ?? 1) - (KIND_ORDER[right.kind] ?? 1) || left.name.localeCompare(right.name),
  );
}

/**
 * The version of an installed package, looked up from `fromDirectory` upwards (a package's own
 * folder counts, so 'batonjs' resolves to the repository root).
 */
export function installedVersion(name, fromDirectory) {
  let directory = fromDirectory;
  for (;;) {
    const candidates = [
      path.join(directory, 'node_modules', name, 'package.json'),
      path.join(directory, 'package.json'),
    ];
    for (const file of candidates) {
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      if (manifest.name === name) return manifest.version;
    }
    const parent = path.dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/** A Markdown table with padded columns, the way Biome's formatter lays tables out. */
function markdownTable(header, rows) {
  const escapeCell = (cell) => String(cell).replaceAll('|', '\\|');
  const table = [header, ...rows].map((cells) => cells.map(escapeCell));
  const widths = header.map((_, column) => Math.max(3, ...table.map((cells) => cells[column].length)));
  const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  const [head, ...body] = table;
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

function spread(latency) {
  return (Math.max(...latency.batchUs) - latency.minUs) / latency.medianUs;
}

/** Fixed-width console table, one line per case, with targets and failures underneath. */
export function renderConsole(results) {
  const header = ['case', 'kind', 'µs/run', 'min µs', 'first run ms', 'heap B/run', 'import ms', 'verified'];
  const rows = sortResults(results).map((result) =>
    result.ok
      ? [
          result.name,
          result.kind,
          formatUs(result.latency.medianUs),
          formatUs(result.latency.minUs),
          formatMs(result.firstRunMs),
          formatBytes(result.heap.bytesPerRun),
          formatMs(result.importTime?.medianMs),
          `${grouped(result.verification.runs, 0)} runs ok`,
        ]
      : [result.name, result.kind ?? '?', 'FAILED', '', '', '', '', ''],
  );
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column].length)),
  );
  const numeric = new Set([2, 3, 4, 5, 6]);
  const format = (row) =>
    row
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join('  ');
  const lines = [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(format)];
  for (const result of sortResults(results)) {
    for (const [label, value] of Object.entries(result.metrics ?? {})) {
      lines.push(`  ${result.name}: ${label} = ${formatNumber(value)}`);
    }
    for (const target of result.targets ?? []) {
      lines.push(`  ${target.pass ? 'PASS' : 'FAIL'} ${result.name}: ${describeTarget(target)}`);
    }
    if (!result.ok) lines.push(`  FAILED ${result.name}: ${result.error}`);
  }
  return lines.join('\n');
}

function describeTarget(target) {
  const unit = target.unit ? ` ${target.unit}` : '';
  const bound = target.atLeast ? 'at least' : 'limit';
  return `${target.label}: ${formatNumber(target.value)}${unit} (${bound} ${formatNumber(target.limit)}${unit})`;
}

/** Ratios computed from the measured medians: against the floor, and Baton's cases against each peer. */
function renderRatios(ok) {
  const sections = ['## Ratios', ''];
  const floor = ok.find((result) => result.kind === 'floor');
  const peers = ok.filter((result) => result.kind === 'peer');
  const subjects = ok.filter((result) => result.kind === 'subject');
  if (floor) {
    sections.push(
      `### Against the hand-written loop (${floor.name}, ${formatUs(floor.latency.medianUs)} µs/run)`,
      '',
      'Time ratio = case median / floor median; overhead = case median − floor median.',
      '',
      markdownTable(
        ['case', 'time ratio', 'overhead µs/run', 'heap kept / run (B)'],
        ok
          .filter((result) => result !== floor)
          .map((result) => [
            result.name,
            formatRatio(result.latency.medianUs / floor.latency.medianUs),
            formatUs(result.latency.medianUs - floor.latency.medianUs),
            formatBytes(result.heap.bytesPerRun),
          ]),
      ),
      '',
    );
  }
  if (subjects.length > 0 && peers.length > 0) {
    sections.push(
      '### Baton against each peer',
      '',
      'Each cell is peer median µs/run ÷ Baton case median µs/run (above 1× means the Baton case is faster).',
      '',
      markdownTable(
        ['Baton case', ...peers.map((peer) => peer.name)],
        subjects.map((subject) => [
          subject.name,
          ...peers.map((peer) => formatRatio(peer.latency.medianUs / subject.latency.medianUs)),
        ]),
      ),
      '',
    );
  } else if (peers.length > 1) {
    const fastest = peers.reduce((best, peer) =>
      peer.latency.medianUs < best.latency.medianUs ? peer : best,
    );
    sections.push(
      `### Peers against the fastest peer (${fastest.name})`,
      '',
      markdownTable(
        ['peer', 'time ratio'],
        peers.map((peer) => [peer.name, formatRatio(peer.latency.medianUs / fastest.latency.medianUs)]),
      ),
      '',
    );
  }
  return sections.join('\n');
}

/**
 * The whole of bench/RESULTS.md.
 *
 * @param {{ results: object[], environment: object, profile: object, profileName: string, versions: [string, string][] }} report
 */
export function renderMarkdown({ results, environment, profile, profileName, repeat = 1, versions }) {
  const sorted = sortResults(results);
  const ok = sorted.filter((result) => result.ok);
  const lines = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench\` (bench/run.mjs) on ${environment.date}. Rerun to refresh; see bench/README.md for the method.`,
    '',
    '## Machine',
    '',
    `- Node ${environment.node} on ${environment.platform} ${environment.arch}`,
    `- CPU: ${environment.cpuModel} (${environment.cpuCount} logical cores), ${environment.memoryGb} GB RAM`,
    `- Load average (1 min): ${environment.loadStart.toFixed(2)} at start, ${environment.loadEnd.toFixed(2)} at end`,
    `- Profile: ${profileName} — warm-up ≥ ${profile.warmupMs} ms and ≥ ${profile.minWarmupRuns} runs; ${profile.batches} timed batches of ~${profile.batchMs} ms; heap over ~${profile.heapMs} ms and ≥ ${profile.minHeapRuns} runs; import time = median of ${profile.importSamples} fresh processes`,
    `- Processes per case: ${repeat}; each case reports the process with the lowest median µs/run (all medians are in bench/results/latest.json)`,
    '',
    '## Package versions',
    '',
    markdownTable(
      ['package', 'version'],
      versions.map(([name, version]) => [name, version ?? 'not installed']),
    ),
    '',
    '## Per run, warm',
    '',
    'Each run: 2 fake-model calls + 1 `add` tool call, output checked (`5`) and tool executions counted.',
    "µs/run is the median (and minimum) over timed batches of sequential runs in the reported process; heap kept is heapUsed growth after full GCs divided by the runs made in between; import ms is `await import()` of the case's framework entry points in a fresh process.",
    '',
    markdownTable(
      [
        'case',
        'kind',
        'µs/run (median)',
        'µs/run (min)',
        'batch spread',
        'medians per process',
        'first run (ms)',
        'heap kept / run (B)',
        'import (ms)',
        'runs verified',
        'load',
      ],
      sorted.map((result) =>
        result.ok
          ? [
              result.name,
              result.kind,
              formatUs(result.latency.medianUs),
              formatUs(result.latency.minUs),
              `${Math.round(spread(result.latency) * 100)}%`,
              (result.processMediansUs ?? [result.latency.medianUs]).map(formatUs).join(' / '),
              formatMs(result.firstRunMs),
              formatBytes(result.heap.bytesPerRun),
              formatMs(result.importTime?.medianMs),
              grouped(result.verification.runs, 0),
              result.loadAverage.toFixed(2),
            ]
          : [result.name, result.kind ?? '?', '**FAILED**', '', '', '', '', '', '', '', ''],
      ),
    ),
    '',
    markdownTable(
      ['case', 'what runs'],
      sorted.map((result) => [result.name, result.description || '-']),
    ),
    '',
  ];

  const metricRows = ok.flatMap((result) =>
    Object.entries(result.metrics ?? {}).map(([label, value]) => [result.name, label, formatNumber(value)]),
  );
  if (metricRows.length > 0)
    lines.push('## Extra metrics', '', markdownTable(['case', 'metric', 'value'], metricRows), '');

  const targetRows = sorted.flatMap((result) =>
    (result.targets ?? []).map((target) => [
      result.name,
      target.label,
      `${formatNumber(target.value)}${target.unit ? ` ${target.unit}` : ''}`,
      `${target.atLeast ? '≥ ' : '≤ '}${formatNumber(target.limit)}${target.unit ? ` ${target.unit}` : ''}`,
      target.pass ? 'PASS' : '**FAIL**',
    ]),
  );
  if (targetRows.length > 0) {
    lines.push(
      '## Targets',
      '',
      markdownTable(['case', 'target', 'value', 'limit', 'result'], targetRows),
      '',
    );
  }

  const failures = sorted.filter((result) => !result.ok);
  if (failures.length > 0) {
    lines.push('## Failures', '');
    for (const failure of failures) {
      lines.push(`- **${failure.name}**: \`${failure.error.split('\n')[0].replaceAll('`', "'")}\``);
    }
    lines.push('');
  }

  if (ok.length > 0) lines.push(renderRatios(ok));
  return `${lines.join('\n').trimEnd()}\n`;
}
