/** A process that dies while a remote agent works does not send the finished call again: the recovering process follows the same remote task. */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { kill, startWorker, waitForLine } from '../crash/crash-harness.js';
import { eventually } from './a2a-fixtures.js';
import { type SdkAgent, startSdkAgent } from './sdk-agent.js';

const worker = resolve(import.meta.dirname, 'remote-crash-worker.ts');
let agent: SdkAgent | undefined;

afterAll(async () => {
  await agent?.close();
});

describe('remoteAgent across a crash', () => {
  it('replays the journaled send after SIGKILL and waits for the same remote task: one message in all', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    agent = await startSdkAgent('slow', async (text) => {
      await gate;
      return { text: text.toUpperCase() };
    });
    const dbPath = join(mkdtempSync(join(tmpdir(), 'baton-a2a-crash-')), 'baton.db');
    const runId = 'run_a2a_crash';
    const first = startWorker(worker, ['start', dbPath, agent.url, runId], '');
    await waitForLine(first, 'STARTED');
    // The send is journaled (the remote task exists); the run now waits for the task.
    const store = createSqliteStore({ path: dbPath });
    await eventually(async () =>
      (await store.loadJournal(runId)).some(
        (entry) => entry.name === 'a2a:slow' && entry.status === 'completed',
      ),
    );
    await store.close();
    await kill(first);
    expect(agent.received).toHaveLength(1);

    const second = startWorker(worker, ['recover', dbPath, agent.url, runId], '');
    release();
    await waitForLine(second, 'ENDED', 30_000);
    expect(second.output).toContain('ENDED completed "relayed: HELLO"');
    expect(agent.received).toHaveLength(1);
  }, 60_000);
});
