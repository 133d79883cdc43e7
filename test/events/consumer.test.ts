import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '../../src/events/event-envelope.js';
import { EventBusTelemetry, type ProcessingOutcome } from '../../src/events/event-bus.telemetry.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { fieldValue, toEntries } from '../../src/events/event-stream.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, startEventsApp, keysOf, metadataOf, pendingCount, statusCounts, waitUntil } from './helpers.js';

const TENANT = 'tenant-consumer';

describe('event consumer', () => {
  let t: TestApp;
  let publisher: EventPublisher;
  let subscriptions: EventSubscriptions;
  const outcomes: { type: string; outcome: ProcessingOutcome }[] = [];

  beforeAll(async () => {
    t = await startEventsApp({ env: FAST_BUS_ENV, noListen: true });
    publisher = t.app.get(EventPublisher);
    subscriptions = t.app.get(EventSubscriptions);
    t.app.get(EventBusTelemetry).subscribe({ published: () => undefined, processed: (type, outcome) => outcomes.push({ type, outcome }) });
    await t.app.init();
  });
  afterAll(() => t.close());

  it('processes 10,000 events published in batches exactly once each', async () => {
    const seen = new Map<string, number>();
    subscriptions.subscribe('bulk-counter', 'test.bulk.*', (event) => {
      seen.set(event.id, (seen.get(event.id) ?? 0) + 1);
    });
    const ids: string[] = [];
    for (let batch = 0; batch < 100; batch++) {
      const published = await publisher.publishBatch(Array.from({ length: 100 }, (_, i) => input('test.bulk.created', TENANT, { i })));
      ids.push(...published.map((e) => e.id));
    }
    await waitUntil(async () => {
      expect((await statusCounts(t, `type = 'test.bulk.created'`)).COMPLETED).toBe(10_000);
    }, 60_000);

    expect(new Set(ids).size).toBe(10_000);
    expect(seen.size).toBe(10_000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(ids.every((id) => seen.has(id))).toBe(true);
    expect(await statusCounts(t, `type = 'test.bulk.created'`)).toEqual({ COMPLETED: 10_000 });
    const { rows } = await t.pool.query(
      `SELECT count(*)::int AS n FROM event_metadata WHERE type = 'test.bulk.created' AND attempts = 1 AND completed_handlers = '{bulk-counter}' AND processed_at IS NOT NULL`,
    );
    expect(rows[0].n).toBe(10_000);
    expect(await pendingCount(t)).toBe(0);
  });

  it('redelivers a failing event after each backoff delay; it completes on attempt 3 and a handler that succeeded is not re-run', async () => {
    const calls: number[] = [];
    let steadyCalls = 0;
    subscriptions.subscribe('flaky', 'test.flaky.created', () => {
      calls.push(Date.now());
      if (calls.length <= 2) throw new Error(`flaky failure ${calls.length}`);
    });
    subscriptions.subscribe('steady', 'test.flaky.*', () => {
      steadyCalls++;
    });
    const event = await publisher.publish(input('test.flaky.created', TENANT));

    await waitUntil(async () => {
      expect((await metadataOf(t, event.id))?.status).toBe('COMPLETED');
      expect(await pendingCount(t)).toBe(0);
    });
    const row = (await metadataOf(t, event.id))!;
    expect(row.attempts).toBe(3);
    expect(row.completed_handlers.sort()).toEqual(['flaky', 'steady']);
    expect(row.last_error).toContain('flaky failure 2');
    expect(calls).toHaveLength(3);
    expect(steadyCalls).toBe(1);
    // Redelivered no earlier than EVENT_BUS_RETRY_DELAYS_MS[attempt - 1]: 50 ms, then 100 ms.
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(50);
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(100);
    expect(outcomes.filter((o) => o.type === 'test.flaky.created').map((o) => o.outcome)).toEqual(['retried', 'retried', 'success']);
    expect(await pendingCount(t)).toBe(0);
    expect(await t.redis.zcard(keysOf(t).retry)).toBe(0);
  });

  it('moves an always-failing event to the DLQ after exactly maxRetries attempts and acks it on the main stream', async () => {
    let calls = 0;
    subscriptions.subscribe('doomed', 'test.doomed.created', () => {
      calls++;
      throw new Error('downstream refused: Bearer abc.def.ghi and api_key=sk-live-123456789');
    });
    const event = await publisher.publish(input('test.doomed.created', TENANT));

    await waitUntil(async () => {
      expect((await metadataOf(t, event.id))?.status).toBe('DLQ');
      expect(await pendingCount(t)).toBe(0);
    });
    const row = (await metadataOf(t, event.id))!;
    expect(row.attempts).toBe(3);
    expect(calls).toBe(3);
    expect(row.last_error).toContain('doomed: Error: downstream refused');
    expect(row.last_error).not.toContain('abc.def.ghi');
    expect(row.last_error).not.toContain('sk-live-123456789');
    expect(await pendingCount(t)).toBe(0);
    expect(outcomes.filter((o) => o.type === 'test.doomed.created').map((o) => o.outcome)).toEqual([
      'retried',
      'retried',
      'dead_lettered',
    ]);

    const keys = keysOf(t);
    const dlqId = await t.redis.hget(keys.dlqIndex, event.id);
    const [entry] = toEntries(await t.redis.call('XRANGE', keys.dlq, dlqId!, dlqId!));
    expect(JSON.parse(fieldValue(entry!.fields, 'event')!)).toMatchObject({ id: event.id, type: 'test.doomed.created' });
    expect(fieldValue(entry!.fields, 'attempts')).toBe('3');
    expect(fieldValue(entry!.fields, 'error')).toContain('downstream refused');
    expect(fieldValue(entry!.fields, 'stack')).toContain('consumer.test.ts');
    expect(Number.isNaN(Date.parse(fieldValue(entry!.fields, 'movedAt')!))).toBe(false);
  });

  it('honours a subscription maxRetries and keeps retrying while the most patient failing handler has attempts left', async () => {
    let strict = 0;
    let patient = 0;
    subscriptions.subscribe('strict', 'test.limits.created', () => {
      strict++;
      throw new Error('strict fails');
    }, { maxRetries: 1 });
    const first = await publisher.publish(input('test.limits.created', TENANT));
    await waitUntil(async () => {
      expect((await metadataOf(t, first.id))?.status).toBe('DLQ');
      expect(await pendingCount(t)).toBe(0);
    });
    expect((await metadataOf(t, first.id))!.attempts).toBe(1);
    expect(strict).toBe(1);

    subscriptions.subscribe('patient', 'test.limits.*', () => {
      patient++;
      throw new Error('patient fails');
    }, { maxRetries: 2 });
    const second = await publisher.publish(input('test.limits.created', TENANT));
    await waitUntil(async () => {
      expect((await metadataOf(t, second.id))?.status).toBe('DLQ');
      expect(await pendingCount(t)).toBe(0);
    });
    expect((await metadataOf(t, second.id))!.attempts).toBe(2);
    expect(patient).toBe(2);
  });

  it('creates missing metadata, skips handlers already recorded and dead-letters malformed entries', async () => {
    const keys = keysOf(t);
    const handled: string[] = [];
    subscriptions.subscribe('raw', 'test.raw.*', (event: EventEnvelope) => {
      handled.push(event.id);
    });
    // Written to the stream without its EventMetadata row, as when the publisher's insert failed.
    const orphan = { id: randomUUID(), type: 'test.raw.created', source: 'platform', timestamp: new Date().toISOString(), correlationId: randomUUID(), tenantId: TENANT, userId: null, version: '1.0', data: {} };
    await t.redis.xadd(keys.main, '*', 'event', JSON.stringify(orphan));
    // Redelivery of an event whose only handler already succeeded (e.g. a crash after recording it).
    const done = await publisher.publish(input('test.raw.updated', TENANT));
    const malformedId = (await t.redis.xadd(keys.main, '*', 'event', '{not json'))!;

    await waitUntil(async () => {
      expect((await metadataOf(t, orphan.id))?.status).toBe('COMPLETED');
      expect((await metadataOf(t, done.id))?.status).toBe('COMPLETED');
      expect(await t.redis.hget(keys.dlqIndex, `malformed-${malformedId}`)).toBeTruthy();
    });
    expect(handled).toEqual([orphan.id, done.id]);

    await t.pool.query(`UPDATE event_metadata SET status = 'PENDING', completed_handlers = '{raw}' WHERE event_id = $1`, [done.id]);
    await t.redis.xadd(keys.main, '*', 'event', JSON.stringify({ ...orphan, id: done.id, type: 'test.raw.updated' }));
    await waitUntil(async () => {
      expect((await metadataOf(t, done.id))?.status).toBe('COMPLETED');
      expect(await pendingCount(t)).toBe(0);
    });
    expect(handled).toEqual([orphan.id, done.id]);
    expect((await metadataOf(t, done.id))!.attempts).toBe(2);
    expect(await pendingCount(t)).toBe(0);
  });

  it('processes an event id that appears twice in one read batch without running its handler twice', async () => {
    let calls = 0;
    subscriptions.subscribe('dup', 'test.dup.created', () => {
      calls++;
    });
    const id = randomUUID();
    await publisher.publishBatch([{ ...input('test.dup.created', TENANT), id }, { ...input('test.dup.created', TENANT), id }]);
    await waitUntil(async () => {
      expect((await metadataOf(t, id))?.status).toBe('COMPLETED');
      expect(await pendingCount(t)).toBe(0);
    });
    expect(calls).toBe(1);
  });

  it('dead-letters without running handlers an event whose attempts were used up by deliveries that never finished', async () => {
    let calls = 0;
    subscriptions.subscribe('poison', 'test.poison.created', () => {
      calls++;
    });
    const id = randomUUID();
    // Three earlier deliveries that ended with the process dying (status PROCESSING, no result recorded).
    await t.pool.query(
      `INSERT INTO event_metadata (event_id, stream_id, type, source, tenant_id, status, attempts) VALUES ($1, '0-1', 'test.poison.created', 'platform', $2, 'PROCESSING', 3)`,
      [id, TENANT],
    );
    await publisher.publish({ ...input('test.poison.created', TENANT), id });
    await waitUntil(async () => {
      expect((await metadataOf(t, id))?.status).toBe('DLQ');
      expect(await pendingCount(t)).toBe(0);
    });
    expect(calls).toBe(0);
    expect((await metadataOf(t, id))!.last_error).toMatch(/No attempts left/);
    expect(await pendingCount(t)).toBe(0);
  });
});

describe('event consumer: retries and idle claims with a long retry delay', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startEventsApp({
      env: { ...FAST_BUS_ENV, EVENT_BUS_RETRY_DELAYS_MS: '60000', EVENT_BUS_CLAIM_IDLE_MS: '300' },
      noListen: true,
    });
    await t.app.init();
  });
  afterAll(() => t.close());

  it('leaves a claimed entry alone until its retry is due, and claims it when the retry record is lost', async () => {
    let calls = 0;
    t.app.get(EventSubscriptions).subscribe('lost-retry', 'test.lostretry.created', () => {
      calls++;
      if (calls === 1) throw new Error('first attempt fails');
    });
    const event = await t.app.get(EventPublisher).publish(input('test.lostretry.created', TENANT));
    await waitUntil(async () => expect((await metadataOf(t, event.id))?.status).toBe('FAILED'));
    // Several claim periods pass: the entry is idle, but its retry is a minute away, so it is not run again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(calls).toBe(1);
    expect(await pendingCount(t)).toBe(1);

    await t.redis.del(keysOf(t).retry);
    await waitUntil(async () => {
      expect((await metadataOf(t, event.id))?.status).toBe('COMPLETED');
      expect(await pendingCount(t)).toBe(0);
    });
    expect(calls).toBe(2);
    expect((await metadataOf(t, event.id))!.attempts).toBe(2);
    expect(await pendingCount(t)).toBe(0);
  });
});
