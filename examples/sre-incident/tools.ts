/**
 * Tools of the SRE incident team, over a simulated production environment: logs, metrics, runbooks,
 * and the two remediations (restart, rollback) that change what the logs and metrics show next.
 */

import { tool } from 'batonjs';
import { z } from 'zod';

// ---- the simulated environment ---------------------------------------------------------------
//
// checkout-api runs v2.13.4 until v2.14.0 is deployed at 14:02 UTC. v2.14.0 looks carts up with
// lower(customer_email), which cannot use the index on cart_items.customer_email: each lookup is a
// ~4.8 s sequential scan that holds a database connection, so the pool of 20 connections drains a
// few minutes after every start of v2.14.0 and requests fail with pool timeouts. A restart empties
// the pool for a short while; rolling back to v2.13.4 fixes it.
//
// Time is simulated: the on-call team starts at 14:20, and every tool call takes a few minutes of
// it (a restart waits for the pods, a rollback for the rollout). Everything is a pure function of
// the actions taken so far, so the same calls always give the same answers.

/** Minutes after midnight UTC, as "HH:MM". */
export function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

const at = (text: string): number => {
  const [hours, minutes] = text.split(':').map(Number);
  return (hours as number) * 60 + (minutes as number);
};

const SERVICE = 'checkout-api';
const POOL_SIZE = 20;
const DEPLOY_GOOD = 'v2.13.4';
const DEPLOY_BAD = 'v2.14.0';
/** Minutes each tool call takes. */
const cost = { query_logs: 2, query_metrics: 3, get_runbook: 1, restart_service: 4, rollback_deploy: 5 };

interface Action {
  kind: 'deploy' | 'restart' | 'rollback';
  /** Minute the new pods are serving. */
  minute: number;
  version: string;
  by: string;
  idempotencyKey?: string;
}

interface Environment {
  now: number;
  actions: Action[];
}

function createEnvironment(): Environment {
  return {
    now: at('14:20'),
    actions: [
      { kind: 'deploy', minute: at('09:14'), version: 'v2.13.3', by: 'ci (pipeline #8790)' },
      { kind: 'deploy', minute: at('13:31'), version: DEPLOY_GOOD, by: 'ci (pipeline #8811)' },
      { kind: 'deploy', minute: at('14:02'), version: DEPLOY_BAD, by: 'ci (pipeline #8840)' },
    ],
  };
}

let environment = createEnvironment();

/** Puts the environment back to the start of the incident (14:20, v2.14.0 running). */
export function resetEnvironment(): void {
  environment = createEnvironment();
}

/** What was done to the service so far (deploys, restarts, rollbacks), oldest first, and the simulated time. */
export function history(): { now: string; actions: Array<Omit<Action, 'idempotencyKey'> & { at: string }> } {
  return {
    now: clock(environment.now),
    actions: environment.actions.map(({ idempotencyKey: _key, ...action }) => ({
      ...action,
      at: clock(action.minute),
    })),
  };
}

/** The action in force at a minute: the last deploy, restart or rollback before it. */
function startOf(minute: number): Action {
  return environment.actions.filter((action) => action.minute <= minute).at(-1) as Action;
}

/** A small deterministic wobble in [-1, 1] per minute and signal, so series look measured. */
function wobble(minute: number, salt: number): number {
  const value = Math.sin(minute * 12.9898 + salt * 78.233) * 43_758.5453;
  return (value - Math.floor(value)) * 2 - 1;
}

/** How drained the connection pool is at a minute: 0 (healthy) to 1 (exhausted). */
function drain(minute: number): number {
  const start = startOf(minute);
  if (start.version !== DEPLOY_BAD) return 0;
  const since = minute - start.minute;
  return [0, 0.3, 0.75][since] ?? 1;
}

interface Sample {
  minute: number;
  errorRatePct: number;
  p99LatencyMs: number;
  dbQueryP99Ms: number;
  poolActive: number;
  requestsPerMinute: number;
}

function sample(minute: number): Sample {
  const level = drain(minute);
  const slowQueries = startOf(minute).version === DEPLOY_BAD;
  const requests = Math.round(2400 + 180 * wobble(minute, 1));
  return {
    minute,
    errorRatePct: Number((0.3 + 11.5 * level + (level > 0 ? 0.4 : 0.05) * wobble(minute, 2)).toFixed(1)),
    p99LatencyMs: Math.round(
      level >= 1 ? 30_000 + 40 * wobble(minute, 3) : 180 + 12_000 * level + 15 * wobble(minute, 3),
    ),
    dbQueryP99Ms: Math.round(slowQueries ? 4800 + 150 * wobble(minute, 4) : 18 + 3 * wobble(minute, 4)),
    poolActive: Math.min(POOL_SIZE, Math.round(slowQueries ? 6 + 14 * level : 4 + 2 * wobble(minute, 5))),
    requestsPerMinute: requests,
  };
}

/** Advances simulated time by what a call costs and returns the minute the call saw (before advancing). */
function spend(tool: keyof typeof cost): number {
  const now = environment.now;
  environment.now += cost[tool];
  return now;
}

function checkService(service: string): void {
  if (service.trim().toLowerCase() !== SERVICE) {
    throw new Error(`Unknown service "${service}". This environment has one service: ${SERVICE}.`);
  }
}

function window(sinceMinutes: number | undefined, now: number): number {
  return now - (sinceMinutes ?? 30);
}

// ---- logs --------------------------------------------------------------------------------------

interface LogLine {
  minute: number;
  level: 'INFO' | 'WARN' | 'ERROR';
  logger: string;
  message: string;
  /** How many times this line was logged in that minute. */
  count: number;
}

function logsAt(minute: number): LogLine[] {
  const lines: LogLine[] = [];
  const start = startOf(minute);
  if (start.minute === minute) {
    lines.push({
      minute,
      level: 'INFO',
      logger: 'c.a.checkout.CheckoutApplication',
      message: `Started CheckoutApplication ${start.version} (${start.kind} by ${start.by})`,
      count: 6,
    });
  }
  const now = sample(minute);
  if (start.version === DEPLOY_BAD) {
    lines.push({
      minute,
      level: 'WARN',
      logger: 'c.a.checkout.cart.CartRepository',
      message: `Slow query (${now.dbQueryP99Ms} ms): SELECT * FROM cart_items WHERE lower(customer_email) = ? AND status = 'ACTIVE' [Seq Scan on cart_items, rows=3.9M]`,
      count: Math.round(now.requestsPerMinute * 0.18),
    });
  }
  const failed = Math.round((now.requestsPerMinute * now.errorRatePct) / 100);
  if (drain(minute) >= 0.3) {
    lines.push({
      minute,
      level: 'ERROR',
      logger: 'com.zaxxer.hikari.pool.HikariPool',
      message: `HikariPool-1 - Connection is not available, request timed out after 30000ms (total=${POOL_SIZE}, active=${now.poolActive}, idle=0, waiting=${Math.round(failed / 4)})`,
      count: failed,
    });
    lines.push({
      minute,
      level: 'ERROR',
      logger: 'c.a.checkout.web.CheckoutController',
      message: 'POST /v2/checkout -> 503 Service Unavailable (CannotGetJdbcConnectionException)',
      count: failed,
    });
  }
  return lines;
}

/** Searches checkout-api logs: lines grouped by message pattern with counts, first/last seen, and samples. */
export const queryLogs = tool({
  name: 'query_logs',
  description:
    'Search the logs of a service over the last N minutes (default 30). Filter by level (INFO, WARN, ERROR) and by text the message contains. Returns matching messages grouped by pattern with counts and first/last time seen (UTC), newest samples first. Takes about 2 minutes.',
  input: z.object({
    service: z.string().describe('Service name, e.g. checkout-api'),
    level: z.enum(['INFO', 'WARN', 'ERROR']).optional().describe('Minimum level; default all'),
    contains: z.string().optional().describe('Only messages containing this text (case-insensitive)'),
    sinceMinutes: z.number().int().min(1).max(120).optional().describe('How far back to look, default 30'),
  }),
  idempotent: true,
  execute: ({ service, level, contains, sinceMinutes }) => {
    checkService(service);
    const now = spend('query_logs');
    const rank = { INFO: 0, WARN: 1, ERROR: 2 };
    const from = window(sinceMinutes, now);
    const lines: LogLine[] = [];
    for (let minute = from; minute <= now; minute++) lines.push(...logsAt(minute));
    const matching = lines.filter(
      (line) =>
        rank[line.level] >= rank[level ?? 'INFO'] &&
        (contains === undefined || line.message.toLowerCase().includes(contains.toLowerCase())),
    );
    const patterns = new Map<
      string,
      {
        level: string;
        logger: string;
        pattern: string;
        count: number;
        first: number;
        last: number;
        sample: string;
      }
    >();
    for (const line of matching) {
      const pattern = line.message.replace(/\d+/g, 'N');
      const entry = patterns.get(pattern);
      if (entry === undefined) {
        patterns.set(pattern, {
          level: line.level,
          logger: line.logger,
          pattern,
          count: line.count,
          first: line.minute,
          last: line.minute,
          sample: line.message,
        });
      } else {
        entry.count += line.count;
        entry.last = line.minute;
        entry.sample = line.message;
      }
    }
    return {
      service: SERVICE,
      from: clock(from),
      to: clock(now),
      matched: matching.reduce((sum, line) => sum + line.count, 0),
      patterns: [...patterns.values()]
        .sort((a, b) => b.count - a.count)
        .map(({ first, last, ...entry }) => ({ ...entry, firstSeen: clock(first), lastSeen: clock(last) })),
    };
  },
});

// ---- metrics -----------------------------------------------------------------------------------

const metrics = {
  error_rate: { unit: '%', pick: (point: Sample) => point.errorRatePct },
  p99_latency_ms: { unit: 'ms', pick: (point: Sample) => point.p99LatencyMs },
  db_query_p99_ms: { unit: 'ms', pick: (point: Sample) => point.dbQueryP99Ms },
  db_pool_active: { unit: `connections (pool size ${POOL_SIZE})`, pick: (point: Sample) => point.poolActive },
  requests_per_minute: { unit: 'requests', pick: (point: Sample) => point.requestsPerMinute },
} as const;

type MetricName = keyof typeof metrics;
const metricNames = Object.keys(metrics) as MetricName[];

/** Per-minute metric series with a summary, plus the deploy/restart/rollback markers in the window. */
export const queryMetrics = tool({
  name: 'query_metrics',
  description: `Query per-minute metrics of a service over the last N minutes (default 30): ${metricNames.join(', ')}. Returns the series (UTC minutes), min/max/last, the value the minute before the last deploy in the window, and the deploy, restart and rollback markers. Takes about 3 minutes.`,
  input: z.object({
    service: z.string().describe('Service name, e.g. checkout-api'),
    metrics: z
      .array(z.enum(metricNames as [MetricName, ...MetricName[]]))
      .min(1)
      .describe('Which metrics'),
    sinceMinutes: z.number().int().min(1).max(120).optional().describe('How far back to look, default 30'),
  }),
  idempotent: true,
  execute: ({ service, metrics: wanted, sinceMinutes }) => {
    checkService(service);
    const now = spend('query_metrics');
    const from = window(sinceMinutes, now);
    const points: Sample[] = [];
    for (let minute = from; minute <= now; minute++) points.push(sample(minute));
    const markers = environment.actions
      .filter((action) => action.minute >= from && action.minute <= now)
      .map((action) => ({
        at: clock(action.minute),
        kind: action.kind,
        version: action.version,
        by: action.by,
      }));
    const lastDeploy = environment.actions
      .filter((action) => action.kind === 'deploy' && action.minute > from && action.minute <= now)
      .at(-1);
    return {
      service: SERVICE,
      from: clock(from),
      to: clock(now),
      markers,
      series: Object.fromEntries(
        wanted.map((name) => {
          const { unit, pick } = metrics[name];
          const values = points.map(pick);
          const before = lastDeploy === undefined ? undefined : pick(sample(lastDeploy.minute - 1));
          return [
            name,
            {
              unit,
              min: Math.min(...values),
              max: Math.max(...values),
              last: values.at(-1),
              ...(before === undefined ? {} : { beforeLastDeploy: before }),
              points: points.map((point) => [clock(point.minute), pick(point)]),
            },
          ];
        }),
      ),
    };
  },
});

// ---- runbooks ----------------------------------------------------------------------------------

interface Runbook {
  title: string;
  symptoms: string[];
  steps: string[];
}

const runbooks: Record<string, Runbook> = {
  'db-pool-exhaustion': {
    title: 'Database connection pool exhausted (HikariPool "Connection is not available")',
    symptoms: [
      'HikariPool timeouts in the logs',
      '5xx with CannotGetJdbcConnectionException',
      'db_pool_active at pool size',
    ],
    steps: [
      'Restart the service (restart_service) to release leaked or stuck connections.',
      'Watch error_rate and db_pool_active for 5 minutes.',
      'If the pool fills up again, the restart only bought time: find what holds connections (slow queries in WARN logs, db_query_p99_ms) and what changed (deploy markers).',
      'If a deploy in the last 2 hours lines up with the start, roll it back (runbook deploy-rollback).',
    ],
  },
  'deploy-rollback': {
    title: 'Roll back a bad deploy',
    symptoms: ['errors or latency start within minutes of a deploy marker'],
    steps: [
      'Confirm the previous version from the deploy markers (query_metrics markers).',
      'Roll back with rollback_deploy to that version; the rollout takes about 5 minutes.',
      'Verify error_rate and p99_latency_ms are back to their pre-deploy values for 5 minutes.',
      'Freeze deploys of the service and open a ticket for the bad change with the evidence.',
    ],
  },
  'high-latency': {
    title: 'p99 latency above SLO (800 ms)',
    symptoms: ['p99_latency_ms above 800 for 5 minutes'],
    steps: [
      'Check requests_per_minute for a traffic spike; scale out if so.',
      'Check db_query_p99_ms; if high, follow db-pool-exhaustion.',
    ],
  },
};

/** Finds a runbook by id or by words in its title and symptoms. */
export const getRunbook = tool({
  name: 'get_runbook',
  description: `Get a runbook by id (${Object.keys(runbooks).join(', ')}) or by a few words describing the symptom. Takes about 1 minute.`,
  input: z.object({ query: z.string().describe('A runbook id or words such as "connection pool"') }),
  idempotent: true,
  execute: ({ query }) => {
    spend('get_runbook');
    const key = query.trim().toLowerCase();
    const exact = runbooks[key];
    if (exact !== undefined) return { id: key, ...exact };
    const words = key.split(/\W+/).filter((word) => word.length > 2);
    const scored = Object.entries(runbooks)
      .map(([id, runbook]) => {
        const text = `${id} ${runbook.title} ${runbook.symptoms.join(' ')}`.toLowerCase();
        return { id, runbook, score: words.filter((word) => text.includes(word)).length };
      })
      .sort((a, b) => b.score - a.score);
    const best = scored[0];
    if (best === undefined || best.score === 0) {
      throw new Error(`No runbook matches "${query}". Runbooks: ${Object.keys(runbooks).join(', ')}.`);
    }
    return { id: best.id, ...best.runbook };
  },
});

// ---- remediations ------------------------------------------------------------------------------

/** Restarts every pod of the service; the pods serve again 2 minutes later. */
export const restartService = tool({
  name: 'restart_service',
  description:
    'Restart all pods of a service (rolling, about 2 minutes until they serve, 4 minutes including health checks). Use when connections or memory leak; does not change the version.',
  input: z.object({
    service: z.string().describe('Service name, e.g. checkout-api'),
    reason: z.string().describe('Why, for the incident log'),
  }),
  execute: ({ service, reason }, context) => {
    checkService(service);
    const done = environment.actions.find((action) => action.idempotencyKey === context.idempotencyKey);
    if (done !== undefined)
      return {
        service: SERVICE,
        restarted: true,
        servingSince: clock(done.minute),
        version: done.version,
        reason,
      };
    const now = spend('restart_service');
    const version = startOf(now).version;
    const action: Action = {
      kind: 'restart',
      minute: now + 2,
      version,
      by: 'on-call (restart_service)',
      idempotencyKey: context.idempotencyKey,
    };
    environment.actions.push(action);
    return {
      service: SERVICE,
      restarted: true,
      pods: '6/6 ready',
      servingSince: clock(action.minute),
      version,
      reason,
    };
  },
});

/** Rolls the service back to an earlier deployed version; refuses versions that were never deployed. */
export const rollbackDeploy = tool({
  name: 'rollback_deploy',
  description:
    'Roll a service back to a version that was deployed before (see the deploy markers from query_metrics). The rollout takes about 5 minutes; new pods serve 2 minutes in.',
  input: z.object({
    service: z.string().describe('Service name, e.g. checkout-api'),
    toVersion: z.string().describe('The version to go back to, e.g. v2.13.4'),
    reason: z.string().describe('Why, for the incident log'),
  }),
  execute: ({ service, toVersion, reason }, context) => {
    checkService(service);
    const done = environment.actions.find((action) => action.idempotencyKey === context.idempotencyKey);
    if (done !== undefined)
      return { service: SERVICE, rolledBackTo: done.version, servingSince: clock(done.minute), reason };
    const deployed = environment.actions
      .filter((action) => action.kind === 'deploy')
      .map((action) => action.version);
    const current = startOf(environment.now).version;
    if (!deployed.includes(toVersion)) {
      throw new Error(
        `Version "${toVersion}" was never deployed to ${SERVICE}; deployed versions: ${deployed.join(', ')}.`,
      );
    }
    if (toVersion === current) throw new Error(`${SERVICE} already runs ${toVersion}.`);
    const now = spend('rollback_deploy');
    const action: Action = {
      kind: 'rollback',
      minute: now + 2,
      version: toVersion,
      by: 'on-call (rollback_deploy)',
      idempotencyKey: context.idempotencyKey,
    };
    environment.actions.push(action);
    return {
      service: SERVICE,
      rolledBackFrom: current,
      rolledBackTo: toVersion,
      servingSince: clock(action.minute),
      rolloutFinished: clock(now + cost.rollback_deploy),
      reason,
    };
  },
});
