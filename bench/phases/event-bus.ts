import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { log, type BenchContext } from '../lib/context.js';
import { benchScript, LOG_DIR } from '../lib/paths.js';
import { fmt, table } from '../lib/report.js';
import { createBenchDatabase } from '../lib/services.js';
import type { EventBusResult, Throughput } from './event-bus-child.js';

const E2E_TARGET_PER_SECOND = 5_000;
const PUBLISH_P95_TARGET_MS = 5;

/** Publish and end-to-end throughput of the real bus, against raw XADD measured in the same process and run. */
export async function eventBus(ctx: BenchContext): Promise<void> {
  const database = await createBenchDatabase('events');
  const resultFile = join(LOG_DIR, 'event-bus.json');
  const logFile = join(LOG_DIR, 'event-bus.log');
  rmSync(resultFile, { force: true });
  ctx.commands.push('# events: node bench/.tmp/bench/phases/event-bus-child.js (DATABASE_URL, REDIS_URL = the bench\'s own)');
  try {
    const log = openSync(logFile, 'w');
    const child = spawn(process.execPath, [benchScript('phases/event-bus-child.js')], {
      env: { ...process.env, DATABASE_URL: database.url, REDIS_URL: ctx.redis.url, BENCH_RESULT_FILE: resultFile, BENCH_QUICK: ctx.options.quick ? '1' : '0' },
      stdio: ['ignore', log, log],
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`event-bus child exited with ${code}; see ${logFile}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
  } finally {
    await database.drop();
  }
  reportEvents(ctx, JSON.parse(readFileSync(resultFile, 'utf8')) as EventBusResult);
}

function reportEvents(ctx: BenchContext, r: EventBusResult): void {
  const row = (label: string, t: Throughput, base?: Throughput) => [
    label,
    fmt.int(t.events),
    fmt.int(t.perSecond),
    base ? fmt.ratio(t.perSecond / base.perSecond) : '—',
    t.p50Ms === undefined ? '—' : fmt.ms(t.p50Ms),
    t.p95Ms === undefined ? '—' : fmt.ms(t.p95Ms),
    t.p99Ms === undefined ? '—' : fmt.ms(t.p99Ms),
  ];
  ctx.report.section(
    'Event bus throughput',
    `One process runs the API application (its real EventPublisher, consumer and EventMetadata writes) against the bench's private redis-server ` +
      `and its own database; raw XADD (the same \`XADD MAXLEN ~\` command with the same ${r.payloadBytes}-byte envelope, through ioredis) is ` +
      `measured in the same process just before. "concurrent" = ${r.concurrency} callers in parallel; "batch" = publishBatch / pipelines of ${r.batchSize}. ` +
      'End to end: events published in batches while the same app\'s consumer reads them, runs a trivial handler, writes the outcome to ' +
      'EventMetadata and acks; the clock stops when every event\'s row is COMPLETED and nothing is pending.',
    table(
      ['Operation', 'events', 'events/s', 'ratio to raw XADD (same shape)', 'p50 ms', 'p95 ms', 'p99 ms'],
      [
        row('raw XADD, sequential', r.raw.single),
        row(`raw XADD, ${r.concurrency} concurrent`, r.raw.concurrent),
        row(`raw XADD, pipelines of ${r.batchSize}`, r.raw.pipeline),
        row('publish(), sequential', r.publish.single, r.raw.single),
        row(`publish(), ${r.concurrency} concurrent`, r.publish.concurrent, r.raw.concurrent),
        row(`publishBatch(${r.batchSize})`, r.publish.batch, r.raw.pipeline),
        row(`end to end (publishBatch(${r.batchSize}) → handler → metadata COMPLETED → ack)`, r.e2e, r.raw.pipeline),
      ],
    ),
    `End to end: publishing took ${r.e2e.publishSeconds.toFixed(2)} s of the ${r.e2e.seconds.toFixed(2)} s; handler ran ${fmt.int(r.e2e.handled)} times, ` +
      `${fmt.int(r.e2e.completed)} rows COMPLETED, ${r.e2e.pending} pending at the end.`,
  );
  const e2eOk = r.e2e.completed >= r.e2e.events && r.e2e.pending === 0;
  ctx.report.headline(
    'End-to-end events/s with metadata persisted (ratio to raw XADD pipeline)',
    `${fmt.int(r.e2e.perSecond)}/s (${fmt.ratio(r.e2e.perSecond / r.raw.pipeline.perSecond)})${e2eOk ? '' : ' — did not complete'}`,
    `≥ ${E2E_TARGET_PER_SECOND.toLocaleString('en-US')}/s`,
    e2eOk && r.e2e.perSecond >= E2E_TARGET_PER_SECOND,
  );
  ctx.report.headline(
    'publish() p95 latency (sequential; 16 concurrent)',
    `${fmt.ms(r.publish.single.p95Ms!)} ms; ${fmt.ms(r.publish.concurrent.p95Ms!)} ms`,
    `< ${PUBLISH_P95_TARGET_MS} ms`,
    r.publish.single.p95Ms! < PUBLISH_P95_TARGET_MS,
  );
  log(`events: e2e ${fmt.int(r.e2e.perSecond)}/s, publish p95 ${fmt.ms(r.publish.single.p95Ms!)} ms`);
}
