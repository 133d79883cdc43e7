/**
 * Runs in its own process (started by phases/event-bus.ts): the API application in-process, its real
 * EventPublisher and consumer, against the bench's private Redis and database. Writes its measurements as JSON
 * to BENCH_RESULT_FILE.
 */
import 'reflect-metadata';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/config/app-config.js';
import { buildEnvelope, type PublishEventInput } from '../../src/events/event-envelope.js';
import { CONSUMER_GROUP, EventBusKeys } from '../../src/events/event-bus.keys.js';
import { EVENT_FIELD, EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { apiEnv } from '../lib/context.js';
import { percentile } from '../lib/stats.js';

const BENCH_TYPE = 'bench.load.tick';
const BATCH = 100;
const CONCURRENCY = 16;
const POLL_MS = 50;
const E2E_TIMEOUT_MS = 45_000;

const quick = process.env.BENCH_QUICK === '1';
const SINGLE_N = quick ? 500 : 3_000;
const CONCURRENT_N = quick ? 2_000 : 10_000;
const BATCH_N = quick ? 10_000 : 50_000;
const E2E_N = quick ? 5_000 : 30_000;

export interface Throughput {
  events: number;
  seconds: number;
  perSecond: number;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
}

export interface EventBusResult {
  payloadBytes: number;
  raw: { single: Throughput; concurrent: Throughput; pipeline: Throughput };
  publish: { single: Throughput; concurrent: Throughput; batch: Throughput };
  e2e: Throughput & { publishSeconds: number; handled: number; completed: number; pending: number };
  batchSize: number;
  concurrency: number;
}

let handled = 0;

@Injectable()
class BenchHandler implements OnModuleInit {
  constructor(private readonly subscriptions: EventSubscriptions) {}
  onModuleInit(): void {
    this.subscriptions.subscribe('bench-counter', 'bench.*', () => {
      handled++;
    });
  }
}

@Module({ providers: [BenchHandler] })
class BenchHandlerModule {}

function input(i: number): PublishEventInput {
  return { type: BENCH_TYPE, tenantId: 'bench-tenant', userId: 'bench-user', data: { sequence: i, approvalId: '7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a', decision: 'approved' } };
}

function throughput(events: number, started: number, latencies?: number[]): Throughput {
  const seconds = (performance.now() - started) / 1000;
  const result: Throughput = { events, seconds, perSecond: events / seconds };
  if (latencies) {
    result.p50Ms = percentile(latencies, 50);
    result.p95Ms = percentile(latencies, 95);
    result.p99Ms = percentile(latencies, 99);
  }
  return result;
}

/** Sequential calls, each timed. */
async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<Throughput> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    latencies.push(performance.now() - t);
  }
  return throughput(n, started, latencies);
}

/** `CONCURRENCY` callers in parallel (like concurrent HTTP requests each publishing one event). */
async function concurrent(n: number, call: (i: number) => Promise<unknown>): Promise<Throughput> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return throughput(n, started, latencies);
}

async function batches(n: number, call: (from: number, count: number) => Promise<unknown>): Promise<Throughput> {
  const started = performance.now();
  for (let from = 0; from < n; from += BATCH) await call(from, Math.min(BATCH, n - from));
  return throughput(n, started);
}

function config(prefix: string, consumer: boolean) {
  return loadConfig({ ...process.env, ...apiEnv({ EVENT_BUS_PREFIX: prefix, EVENT_BUS_CONSUMER_ENABLED: String(consumer) }) });
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL!;
  const maxLen = config('bench-raw', false).env.EVENT_BUS_MAIN_MAXLEN;
  const payload = JSON.stringify(buildEnvelope(input(0)));

  // Raw XADD baseline: the same command the publisher sends (MAXLEN ~, same envelope size), nothing else.
  const raw = new Redis(redisUrl);
  const rawKey = new EventBusKeys('bench-raw').main;
  const xadd = () => raw.xadd(rawKey, 'MAXLEN', '~', String(maxLen), '*', EVENT_FIELD, payload);
  const rawSingle = await sequential(SINGLE_N, xadd);
  const rawConcurrent = await concurrent(CONCURRENT_N, xadd);
  const rawPipeline = await batches(BATCH_N, async (_from, count) => {
    const pipeline = raw.pipeline();
    for (let i = 0; i < count; i++) pipeline.xadd(rawKey, 'MAXLEN', '~', String(maxLen), '*', EVENT_FIELD, payload);
    await pipeline.exec();
  });

  // Publishing alone (no consumer in this app).
  const publisherApp = await createApp(config('bench-publish', false));
  await publisherApp.init();
  const publisher = publisherApp.get(EventPublisher);
  for (let i = 0; i < 200; i++) await publisher.publish(input(i)); // warm-up
  const publishSingle = await sequential(SINGLE_N, (i) => publisher.publish(input(i)));
  const publishConcurrent = await concurrent(CONCURRENT_N, (i) => publisher.publish(input(i)));
  const publishBatch = await batches(BATCH_N, (from, count) => publisher.publishBatch(Array.from({ length: count }, (_, k) => input(from + k))));
  await publisherApp.close();

  // End to end: publish in batches while this app's consumer reads, runs the handler, records the outcome in
  // EventMetadata and acks; done when every event's row is COMPLETED and nothing is pending.
  const e2ePrefix = 'bench-e2e';
  const e2eApp = await createApp(config(e2ePrefix, true), { extraModules: [BenchHandlerModule] });
  await e2eApp.init();
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
  const e2ePublisher = e2eApp.get(EventPublisher);
  const mainKey = new EventBusKeys(e2ePrefix).main;
  const started = performance.now();
  for (let from = 0; from < E2E_N; from += BATCH) {
    await e2ePublisher.publishBatch(Array.from({ length: Math.min(BATCH, E2E_N - from) }, (_, k) => input(from + k)));
  }
  const publishSeconds = (performance.now() - started) / 1000;
  let completed = 0;
  let pending = -1;
  const deadline = Date.now() + E2E_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (handled >= E2E_N) {
      const rows = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM event_metadata WHERE type = $1 AND status = 'COMPLETED'`, [BENCH_TYPE]);
      completed = Number(rows.rows[0]!.n);
      const summary = (await raw.call('XPENDING', mainKey, CONSUMER_GROUP)) as [number];
      pending = Number(summary[0]);
      if (completed >= E2E_N + 0 && pending === 0) break;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const e2e = { ...throughput(E2E_N, started), publishSeconds, handled, completed, pending };
  await e2eApp.close();
  await pool.end();
  raw.disconnect();

  const result: EventBusResult = {
    payloadBytes: Buffer.byteLength(payload),
    raw: { single: rawSingle, concurrent: rawConcurrent, pipeline: rawPipeline },
    publish: { single: publishSingle, concurrent: publishConcurrent, batch: publishBatch },
    e2e,
    batchSize: BATCH,
    concurrency: CONCURRENCY,
  };
  writeFileSync(process.env.BENCH_RESULT_FILE!, JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`event-bus bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
