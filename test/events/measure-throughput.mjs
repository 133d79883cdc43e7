// Measures the event bus on this machine: publish (single and batches of 100) and end-to-end
// publish → handler → metadata COMPLETED → XACK. Uses the built app (run `npm run build` first), a fresh
// database on DATABASE_URL's server and a fresh key prefix on REDIS_URL; drops both afterwards.
//   node test/events/measure-throughput.mjs            (EVENTS=20000 EVENT_BUS_BATCH_SIZE=... to vary)
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createApp } from '../../dist/app.factory.js';
import { loadConfig } from '../../dist/config/app-config.js';
import { runMigrations } from '../../dist/db/migrate.js';
import { EventPublisher } from '../../dist/events/event-publisher.service.js';
import { EventSubscriptions } from '../../dist/events/event-subscriptions.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const SINGLE = Number(process.env.SINGLE ?? 2_000);
const BATCH = 100;
const server = process.env.DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const database = `hyvve_throughput_${suffix}`;
const prefix = `tp${suffix}`;
const env = (consumer) => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: `${server}/${database}`,
  REDIS_URL: redisUrl,
  EVENT_BUS_PREFIX: prefix,
  EVENT_BUS_CONSUMER_ENABLED: String(consumer),
  APPROVAL_ESCALATION_ENABLED: 'false',
  AI_PROVIDER_HEALTH_ENABLED: 'false',
  ...(process.env.EVENT_BUS_BATCH_SIZE ? { EVENT_BUS_BATCH_SIZE: process.env.EVENT_BUS_BATCH_SIZE } : {}),
});
const event = (i) => ({ type: 'bench.item.created', tenantId: 'bench', data: { i, payload: 'x'.repeat(200) } });
const rate = (n, ms) => `${Math.round((n / ms) * 1000)} events/s (${n} in ${ms.toFixed(0)} ms)`;

const redis = new Redis(redisUrl);
await runMigrations(`${server}/${database}`);
const publisherApp = await createApp(loadConfig(env(false)));
await publisherApp.init();
const publisher = publisherApp.get(EventPublisher);
try {
  let started = performance.now();
  for (let i = 0; i < SINGLE; i++) await publisher.publish(event(i));
  console.log(`publish(), one at a time:          ${rate(SINGLE, performance.now() - started)}`);

  started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) await publisher.publishBatch(Array.from({ length: BATCH }, (_, j) => event(i + j)));
  console.log(`publishBatch() of ${BATCH}:              ${rate(EVENTS, performance.now() - started)}`);

  // End to end, backlog: the events above (plus the single ones) drained by one consumer.
  const backlog = SINGLE + EVENTS;
  let handled = 0;
  const consumerApp = await createApp(loadConfig(env(true)));
  consumerApp.get(EventSubscriptions).subscribe('bench', 'bench.*', () => {
    handled++;
  });
  const pending = async () => Number((await redis.call('XPENDING', `${prefix}:events:main`, 'hyvve-platform'))[0]);
  const drained = async (total) => {
    while (handled < total || (await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  started = performance.now();
  await consumerApp.init();
  await drained(backlog);
  console.log(`consume a backlog (one consumer):  ${rate(backlog, performance.now() - started)}`);

  // End to end, live: publish in batches of 100 while the consumer runs, until the last one is acked.
  started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) await publisher.publishBatch(Array.from({ length: BATCH }, (_, j) => event(i + j)));
  await drained(backlog + EVENTS);
  console.log(`publish + consume concurrently:    ${rate(EVENTS, performance.now() - started)}`);

  const db = new pg.Client({ connectionString: `${server}/${database}` });
  await db.connect();
  const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM event_metadata GROUP BY status`);
  await db.end();
  console.log(`metadata: ${JSON.stringify(rows)}`);
  await consumerApp.close();
} finally {
  await publisherApp.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
