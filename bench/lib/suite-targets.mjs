// Targets that compare cases with each other, checked once every case and import time is measured.

/**
 * Adds Baton's cross-case targets to the `baton-memory` result: at least 8× below the fastest
 * peer measured in the same run, and a cold import of the root under 100 ms.
 *
 * @example
 * applySuiteTargets(results); // then render the report as usual
 */
export function applySuiteTargets(results) {
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
  if (memory.importTime) {
    const ms = memory.importTime.medianMs;
    memory.targets.push({
      label: 'cold import of baton (root)',
      value: ms,
      limit: 100,
      unit: 'ms',
      pass: ms <= 100,
    });
  }
}
