/** A runtime with another version of a workflow leaves that workflow's runs exactly as they were (a rolling deploy). */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { waitForStatus } from '../testing/wait-until.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

const approvalFlow = (version: string) =>
  workflow({ name: 'refund', version }, async (ctx) => {
    const answer = await ctx.waitFor<{ approved: boolean }>('approval');
    return { approved: answer.approved, by: `version ${version}` };
  });

describe('a run of another workflow version', () => {
  it('is refused by resume and signal without being claimed, skipped by recovery with one message, and finished by its own version', async () => {
    const store = createMemoryStore();
    const versionOne = approvalFlow('1');
    const old = createRuntime({ store, workflows: [versionOne], recover: false });
    const handle = await old.start(versionOne, {});
    await waitForStatus(old, handle.runId, 'suspended');
    await old.close();

    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const next = createRuntime({ store, workflows: [approvalFlow('2')], pollIntervalMs: 10 });
    runtimes.push(next);

    // The signal is stored for the run; this runtime cannot resume it, so it leaves it parked.
    await next.signal(handle.runId, 'approval', { approved: true });
    const afterSignal = await next.get(handle.runId);
    expect(afterSignal.status).toBe('suspended');
    expect(afterSignal.leaseOwner).toBeUndefined();

    await expect(next.resume(handle.runId)).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
    expect(await next.get(handle.runId)).toEqual(afterSignal);

    // Recovery polls many times; the run stays as it was and the runtime says why once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await next.get(handle.runId)).toEqual(afterSignal);
    const messages = stderr.mock.calls
      .map(([text]) => String(text))
      .filter((text) => text.includes(handle.runId));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('version 1');
    expect(messages[0]).toContain('version 2');
    stderr.mockRestore();

    // A runtime with version 1 (still running in the deploy) picks it up and finishes it.
    const current = createRuntime({ store, workflows: [approvalFlow('1')], pollIntervalMs: 10 });
    runtimes.push(current);
    await waitForStatus(current, handle.runId, 'completed');
    expect((await current.get(handle.runId)).output).toEqual({ approved: true, by: 'version 1' });
  });
});
