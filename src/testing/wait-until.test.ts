import { describe, expect, it } from 'vitest';
import { waitForStatus, waitUntil } from './wait-until.js';

describe('waitUntil', () => {
  it('returns the first value that matches', async () => {
    let reads = 0;
    expect(
      await waitUntil(
        () => ++reads,
        (value) => value === 3,
      ),
    ).toBe(3);
    expect(reads).toBe(3);
  });

  it('gives up after timeoutMs, naming what it waited for and the last value', async () => {
    await expect(
      waitUntil(
        () => Promise.resolve({ status: 'running' }),
        () => false,
        {
          timeoutMs: 20,
          what: 'a suspended run',
        },
      ),
    ).rejects.toThrow(
      /still waiting for a suspended run after 20 ms; last value read: \{"status":"running"\}/,
    );
  });

  it('waitForStatus reads the run until it has the status', async () => {
    const statuses = ['running', 'running', 'suspended'] as const;
    let index = 0;
    const runtime = { get: async () => ({ status: statuses[Math.min(index++, 2)] ?? 'running' }) };
    await waitForStatus(runtime, 'run_1');
    expect(index).toBe(3);
    await expect(waitForStatus(runtime, 'run_1', 'completed', { timeoutMs: 10 })).rejects.toThrow(
      /status completed of run run_1/,
    );
  });
});
