/** What the crash tests share: start a worker process, wait for a line it prints, kill it with SIGKILL, read the side-effect log. */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A running worker process and everything it printed so far. */
export interface WorkerProcess {
  child: ChildProcess;
  output: string;
  /** Set once the process has exited and its output streams are closed (all output is in `output`). */
  closed: boolean;
}

/** Workers started by this test file that may still run. */
const started = new Set<WorkerProcess>();

/** Starts `node --import tsx <script> ...args` with `KILL_AT` set (empty: never hang). */
export function startWorker(script: string, args: readonly string[], killAt: string): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, KILL_AT: killAt },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: WorkerProcess = { child, output: '', closed: false };
  started.add(worker);
  child.once('close', () => {
    worker.closed = true;
    started.delete(worker);
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString();
  });
  return worker;
}

/**
 * Resolves once the worker printed `marker`; fails if it exits first, after `timeoutMs`, or as
 * soon as `check` (called on every poll) throws.
 */
export async function waitForLine(
  worker: WorkerProcess,
  marker: string,
  timeoutMs = 20_000,
  check?: () => void,
): Promise<void> {
  const started = Date.now();
  while (!worker.output.includes(marker)) {
    check?.();
    // Checked only once the streams are closed: output can still arrive after the exit event.
    if (worker.closed) throw new Error(`worker exited before "${marker}":\n${worker.output}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`no "${marker}" within ${timeoutMs} ms:\n${worker.output}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Kills the worker with SIGKILL and waits until it is gone. */
export async function kill(worker: WorkerProcess): Promise<void> {
  const exited = exitOf(worker);
  worker.child.kill('SIGKILL');
  await exited;
}

/** Resolves when the worker has exited and its output is read (at once if that already happened). */
export function exitOf(worker: WorkerProcess): Promise<void> {
  if (worker.closed) return Promise.resolve();
  return new Promise((resolve) => worker.child.once('close', () => resolve()));
}

/** One line of the side-effect log: a process started or finished the effect `tag`. */
export interface Effect {
  pid: number;
  tag: string;
  phase: 'start' | 'done';
}

/** Every complete line of the side-effect log, in the order written (a line being appended is left out). */
export function readEffects(logPath: string): Effect[] {
  const lines = readFileSync(logPath, 'utf8').split('\n');
  lines.pop();
  return lines.map((line) => JSON.parse(line) as Effect);
}

/** Kills every worker this test file started that still runs (after a failed test: no process outlives it). */
export async function killStarted(): Promise<void> {
  await Promise.all([...started].map((worker) => kill(worker)));
}
