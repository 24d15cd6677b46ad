// Targets that compare cases with each other, checked once every case and import time is measured:
// baton-memory against the peers and its import time; each pattern's µs per agent turn against the
// single agent's.

/** Turns (model calls) in one run of the baton-memory workload: add(2, 3), then the answer. */
export const REFERENCE_TURNS = 2;

/** The metric in which `baton-patterns` reports the baton-memory workload's µs per turn, measured in its own process. */
export const REFERENCE_METRIC = 'single agent, baton-memory workload (this process): µs per turn';

/** What the root import is compared with: the AI SDK alone, as Baton's own dependency resolves it. */
export const AI_IMPORT_SPECIFIERS = ['ai'];

/** A cold import of Baton's root may take at most this share of a cold import of `ai` alone. */
export const IMPORT_VERSUS_AI_LIMIT = 0.6;

/** Each pattern's µs per agent turn may be at most this many times the single agent's µs per turn. */
export const PATTERN_TURN_LIMIT = 2;

/**
 * Adds to the `baton-patterns` result, for every pattern it measured, the target "µs per agent
 * turn ÷ the single agent's µs per turn ≤ 2". The single agent's figure is baton-memory's
 * median µs/run ÷ its 2 turns when baton-memory ran; otherwise (a filtered run) the same workload
 * timed in baton-patterns' own process.
 *
 * @example
 * applyPatternTargets(results);
 */
export function applyPatternTargets(results) {
  const patterns = results.find((result) => result.ok && result.name === 'baton-patterns');
  if (patterns === undefined) return;
  const memory = results.find((result) => result.ok && result.name === 'baton-memory');
  const reference =
    memory === undefined
      ? {
          usPerTurn: patterns.metrics?.[REFERENCE_METRIC],
          what: 'single agent, same workload in this process',
        }
      : { usPerTurn: memory.latency.medianUs / REFERENCE_TURNS, what: 'baton-memory µs/run ÷ 2' };
  if (typeof reference.usPerTurn !== 'number') return;
  patterns.targets ??= [];
  for (const [label, value] of Object.entries(patterns.metrics ?? {})) {
    const pattern = /^(.+): µs per agent turn$/.exec(label)?.[1];
    if (pattern === undefined || typeof value !== 'number') continue;
    const ratio = value / reference.usPerTurn;
    patterns.targets.push({
      label: `${pattern}: µs per agent turn ÷ ${reference.what} (${reference.usPerTurn.toFixed(2)} µs)`,
      value: ratio,
      limit: PATTERN_TURN_LIMIT,
      unit: '×',
      pass: ratio <= PATTERN_TURN_LIMIT,
    });
  }
}

/**
 * Adds Baton's cross-case targets to the `baton-memory` result: at least 8× below the fastest
 * peer measured in the same run, and a cold import of the root at most 0.6× a cold import of `ai`
 * alone (measured in alternating processes in the same run). The root's import time alone is
 * reported in the import column, with no target of its own: absolute ms mean little on machines
 * that differ 3×.
 *
 * @example
 * applySuiteTargets(results); // then render the report as usual
 */
export function applySuiteTargets(results) {
  applyPatternTargets(results);
  const memory = results.find((result) => result.ok && result.name === 'baton-memory');
  if (memory === undefined) return;
  memory.targets ??= [];
  const peers = results.filter((result) => result.ok && result.kind === 'peer');
  if (peers.length > 0) {
    const fastest = peers.reduce((best, peer) =>
      peer.latency.medianUs < best.latency.medianUs ? peer : best,
    );
    const ratio = fastest.latency.medianUs / memory.latency.medianUs;
    memory.targets.push({
      label: `fastest peer (${fastest.name}) ÷ baton-memory`,
      value: ratio,
      limit: 8,
      atLeast: true,
      unit: '×',
      pass: ratio >= 8,
    });
  }
  if (memory.importVersusAi) {
    const { left, right, ratio } = memory.importVersusAi;
    memory.targets.push({
      label: `cold import of baton (root) ÷ of ai alone (${left.medianMs.toFixed(1)} ms ÷ ${right.medianMs.toFixed(1)} ms, alternating processes)`,
      value: ratio,
      limit: IMPORT_VERSUS_AI_LIMIT,
      unit: '×',
      pass: ratio <= IMPORT_VERSUS_AI_LIMIT,
    });
  }
}
