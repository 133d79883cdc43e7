import type pg from 'pg';
import type { Redis } from 'ioredis';

/** Every table a request could write to. */
export const APP_TABLES = [
  'workspaces',
  'api_tokens',
  'workspace_settings',
  'approval_items',
  'approval_status_counts',
  'ai_provider_configs',
  'event_metadata',
  'replay_jobs',
] as const;

/** One md5 per table over its rows in a stable order: equal before and after means nothing was written. */
export async function tableChecksums(pool: pg.Pool): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const table of APP_TABLES) {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS sum FROM ${table} t`,
    );
    sums[table] = `${rows[0].n}:${rows[0].sum}`;
  }
  return sums;
}

/** Length of each of the bus's streams and sets under a prefix (0 when absent). */
export async function busState(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const [main, dlq, retry] = await Promise.all([
    redis.xlen(`${prefix}:events:main`),
    redis.xlen(`${prefix}:events:dlq`),
    redis.zcard(`${prefix}:events:retry`),
  ]);
  return { main, dlq, retry };
}

/** A JSON error body carries a non-empty message (string or list of strings). */
export function hasMessage(body: unknown): boolean {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message.trim().length > 0;
  return Array.isArray(message) && message.length > 0 && message.every((m) => typeof m === 'string' && m.length > 0);
}

/** The needles found in a haystack (to report which secret leaked, not just that one did). */
export function leaked(haystack: string, needles: string[]): string[] {
  return needles.filter((needle) => needle.length > 0 && haystack.includes(needle));
}

/** Error-level log lines (pino level 50 and above). */
export function errorLines(lines: string[]): string[] {
  return lines.filter((line) => {
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50;
    } catch {
      return false;
    }
  });
}

export interface TrafficRequest {
  method: string;
  path: string;
  token?: string;
  body?: unknown;
}

export interface TrafficSample extends TrafficRequest {
  /** The phase when the request started. */
  phase: string;
  /** The phase when the answer came: a request that straddles a switch belongs to neither side. */
  endPhase: string;
  status: number;
  ms: number;
  text: string;
}

/**
 * Keeps `concurrency` clients sending requests (from `next`) until stopped, recording every answer with the
 * phases the test was in when the request started and ended. A request that throws (connection refused) is
 * status 0. `within(phase)` gives the requests that started and ended in that phase.
 */
export function startTraffic(baseUrl: string, next: (i: number) => TrafficRequest, concurrency = 4) {
  const samples: TrafficSample[] = [];
  let phase = 'start';
  let running = true;
  let counter = 0;
  const worker = async () => {
    while (running) {
      const request = next(counter++);
      const requestPhase = phase;
      const started = performance.now();
      let status = 0;
      let text = '';
      try {
        const headers: Record<string, string> = {};
        if (request.token) headers.authorization = `Bearer ${request.token}`;
        if (request.body !== undefined) headers['content-type'] = 'application/json';
        const response = await fetch(baseUrl + request.path, {
          method: request.method,
          headers,
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        text = String(error);
      }
      samples.push({ ...request, phase: requestPhase, endPhase: phase, status, ms: performance.now() - started, text });
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    samples,
    within: (name: string) => samples.filter((s) => s.phase === name && s.endPhase === name),
    setPhase(name: string) {
      phase = name;
    },
    async stop(): Promise<TrafficSample[]> {
      running = false;
      await Promise.all(workers);
      return samples;
    },
  };
}

/** What went wrong in recorded traffic: 5xx other than a clean 503, unclear 503s, hangs, failed connections. */
export function trafficProblems(samples: TrafficSample[], maxMs: number): string[] {
  const problems: string[] = [];
  for (const s of samples) {
    const where = `[${s.phase}] ${s.method} ${s.path} → ${s.status} in ${Math.round(s.ms)} ms`;
    if (s.status === 0) problems.push(`${where}: ${s.text.slice(0, 200)}`);
    else if (s.status >= 500 && s.status !== 503) problems.push(`${where}: ${s.text.slice(0, 200)}`);
    else if (s.status === 503 && !/^\/(health|metrics)/.test(s.path) && !/"message":"(PostgreSQL|Redis) is unavailable; try again shortly"/.test(s.text)) {
      problems.push(`${where}: unclear 503 ${s.text.slice(0, 200)}`);
    }
    if (s.ms > maxMs) problems.push(`${where}: slower than ${maxMs} ms`);
    if (/\n\s+at |\.js:\d+/.test(s.text)) problems.push(`${where}: stack trace in the body`);
  }
  return problems;
}

/** Times one request (to show that an answer came within a bound). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
