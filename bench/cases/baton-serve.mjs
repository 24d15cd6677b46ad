// The HTTP API under load: SSE clients following runs while runs start at a fixed rate.
//
// A server process (bench/lib/serve-process.mjs: createServer on a SQLite store, API keys on)
// serves `paced`, a workflow of 5 steps that each wait 1 s. This process starts runs at 200 per
// second (open loop: starts are due at fixed times whether or not earlier ones answered) for
// 15 s, and follows each started run with one SSE client (GET /v1/runs/:id/events) until its
// end, so about 1,000 clients are connected at once once the first runs near their end. Measured
// after a 5 s ramp: the time of each POST /v1/runs (start-run latency), and the delay from each
// step's end (its journal entry's `endedAt`, stamped by the server on the same machine's clock) to
// its `step` event arriving here (event delivery lag). Client and server are separate processes,
// so the server's CPU is its own; this process's event-loop delay is reported to show the
// client side did not add the lag. Starts carry an Idempotency-Key; one that meets a keep-alive
// socket the server closed as it was reused is sent again once (counted in the metrics).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';

export const name = 'baton-serve';
export const kind = 'subject';
export const description =
  "Per-run row: the baton-memory workload (reference, same process). Extra metrics: baton serve's API (createServer, SQLite store, API keys) in its own process; runs of a 5-step workflow (1 s per step) started at 200/s for 15 s, each followed by an SSE client until its end (about 1,000 clients at once); after a 5 s ramp, start-run latency (POST /v1/runs) and event delivery lag (a step's journal endedAt to its SSE event arriving), p50/p99.";
export const importSpecifiers = ['../../dist/server/index.js'];
export const packages = ['hono', '@hono/node-server'];
const PORT = 47_070;
export const localServers = [`127.0.0.1:${PORT}`];

const quick = process.argv[3] === 'quick';
const RATE = 200;
const SECONDS = quick ? 4 : 15;
const RAMP_MS = quick ? 1_000 : 5_000;
const STEPS = quick ? 2 : 5;
const STEP_MS = 1_000;

const script =
  process.env.BATON_BENCH_SERVE_SCRIPT ?? fileURLToPath(new URL('../lib/serve-process.mjs', import.meta.url));
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

function startServer() {
  const child = spawn(
    process.execPath,
    [script, JSON.stringify({ port: PORT, steps: STEPS, stepMs: STEP_MS })],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    errors += chunk;
    if (process.env.BATON_BENCH_SERVE_SCRIPT) process.stderr.write(chunk);
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not start: ${errors.slice(0, 2000)}`)),
      30_000,
    );
    child.stdout.on('data', () => {
      const match = /READY (\S+) (\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: match[1], key: match[2] });
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${errors.slice(0, 2000)}`)));
  });
  const cpu = () =>
    new Promise((resolve) => {
      const before = output.length;
      const check = () => {
        const match = /CPUNOW (\S+) (\S+) (\S+)\n/.exec(output.slice(before));
        if (match !== null) {
          child.stdout.off('data', check);
          resolve({ cpuMs: Number(match[1]), loopP99: Number(match[2]), loopMax: Number(match[3]) });
        }
      };
      child.stdout.on('data', check);
      child.stdin.write('CPU\n');
    });
  return { child, ready, cpu };
}

let startRetries = 0;

/**
 * POST /v1/runs with an Idempotency-Key. A keep-alive socket the server closed as this request
 * went out on it (its idle timeout) answers ECONNRESET: such a request is sent again, once, with
 * the same key (Node's documented `reusedSocket` retry; the key makes it safe), and counted.
 */
function startRun(
  url,
  key,
  input,
  retry = { began: performance.now(), key: `bench-${Math.random()}`, again: true },
) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ target: 'paced', input });
    const request = http.request(
      `${url}/v1/runs`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': retry.key,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => {
          const ms = performance.now() - retry.began;
          if (response.statusCode !== 201 && response.statusCode !== 200)
            reject(new Error(`POST /v1/runs answered ${response.statusCode}: ${text}`));
          else resolve({ id: JSON.parse(text).id, ms });
        });
      },
    );
    request.on('error', (error) => {
      if (error.code === 'ECONNRESET' && request.reusedSocket && retry.again) {
        startRetries += 1;
        startRun(url, key, input, { ...retry, again: false }).then(resolve, reject);
      } else
        reject(
          Object.assign(error, {
            message: `${error.message} (reused socket: ${request.reusedSocket}, retry: ${!retry.again})`,
          }),
        );
    });
    request.end(body);
  });
}

/** Follows a run's events until `end`; calls `onStep(entry, receivedAt)` per step event. */
function follow(url, key, runId, onStep) {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${url}/v1/runs/${runId}/events`,
      { agent, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET events answered ${response.statusCode}`));
          response.resume();
          return;
        }
        response.setEncoding('utf8');
        let buffer = '';
        let steps = 0;
        response.on('data', (chunk) => {
          const receivedAt = Date.now();
          buffer += chunk;
          let boundary = buffer.indexOf('\n\n');
          while (boundary !== -1) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            boundary = buffer.indexOf('\n\n');
            if (block.startsWith(':')) continue;
            const event = /^event: (\S+)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event === 'step') {
              steps += 1;
              onStep(JSON.parse(data), receivedAt);
            } else if (event === 'end') {
              request.destroy();
              resolve(steps);
            }
          }
        });
        response.on('error', () => {});
        response.on('end', () => resolve(steps));
      },
    );
    request.on('error', (error) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
  });
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function measureLoad() {
  const server = startServer();
  try {
    const { url, key } = await server.ready;
    // Warm-up: a few runs followed to their end, so code is compiled and the store is open.
    await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const { id } = await startRun(url, key, { warm: index });
        await follow(url, key, id, () => {});
      }),
    );
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const startMs = [];
    const lagMs = [];
    const follows = [];
    let open = 0;
    let maxOpen = 0;
    let steps = 0;
    let started = 0;
    const cpuBefore = await server.cpu();
    const t0 = performance.now();
    const epoch0 = Date.now();
    loop.enable();
    await new Promise((resolve, reject) => {
      const total = RATE * SECONDS;
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
        while (started < due) {
          const index = started++;
          const dueAt = t0 + (index / RATE) * 1000;
          follows.push(
            startRun(url, key, { index }).then(({ id, ms }) => {
              if (dueAt - t0 >= RAMP_MS) startMs.push(ms);
              open += 1;
              maxOpen = Math.max(maxOpen, open);
              if (process.env.BATON_BENCH_SERVE_NOFOLLOW === '1') {
                steps += STEPS;
                open -= 1;
                return STEPS;
              }
              return follow(url, key, id, (entry, receivedAt) => {
                steps += 1;
                if (receivedAt - epoch0 >= RAMP_MS) lagMs.push(receivedAt - entry.endedAt);
              }).finally(() => {
                open -= 1;
              });
            }),
          );
        }
        if (started >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
      setTimeout(() => reject(new Error('starting runs took far too long')), SECONDS * 1000 * 4);
    });
    const outcomes = await Promise.allSettled(follows);
    loop.disable();
    const cpuAfter = await server.cpu();
    const wallMs = performance.now() - t0;
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    if (failed.length > 0) throw new Error(`${failed.length} runs failed: ${failed[0].reason}`);
    if (steps !== started * STEPS)
      throw new Error(`${started} runs sent ${steps} step events, not ${started * STEPS}`);
    return {
      started,
      maxOpen,
      startP50: quantile(startMs, 0.5),
      startP99: quantile(startMs, 0.99),
      lagP50: quantile(lagMs, 0.5),
      lagP99: quantile(lagMs, 0.99),
      serverCpu: (cpuAfter.cpuMs - cpuBefore.cpuMs) / wallMs,
      serverLoopP99: cpuAfter.loopP99,
      serverLoopMax: cpuAfter.loopMax,
      clientLoopP99: loop.percentile(99) / 1e6,
      startRetries,
    };
  } finally {
    server.child.kill('SIGTERM');
    agent.destroy();
  }
}

export async function setup() {
  const load = await measureLoad();
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => ({
      'runs started (200/s)': load.started,
      'SSE clients connected at once (max)': load.maxOpen,
      'start run p50: ms': load.startP50,
      'start run p99: ms': load.startP99,
      'event lag p50: ms': load.lagP50,
      'event lag p99: ms': load.lagP99,
      'server CPU (cores busy)': load.serverCpu,
      'server event-loop delay p99: ms': load.serverLoopP99,
      'server event-loop delay max: ms': load.serverLoopMax,
      'client event-loop delay p99: ms': load.clientLoopP99,
      'starts sent again after a keep-alive reset': load.startRetries,
    }),
    close: () => runtime.close(),
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'start run p99 (ms) with ~1,000 SSE clients',
    value: metrics['start run p99: ms'],
    limit: 50,
    unit: 'ms',
  },
  {
    label: 'event delivery lag p99 (ms) with ~1,000 SSE clients',
    value: metrics['event lag p99: ms'],
    limit: 100,
    unit: 'ms',
  },
];
