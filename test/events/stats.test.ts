import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventStatsService } from '../../src/events/event-stats.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { readGroupEntries } from '../../src/events/event-stream.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, keysOf, pendingCount, startEventsApp, waitUntil } from './helpers.js';

const ZERO_STATUSES = { PENDING: 0, PROCESSING: 0, COMPLETED: 0, FAILED: 0, DLQ: 0 };

describe('event bus stats with a running consumer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startEventsApp({ env: { ...FAST_BUS_ENV, EVENT_BUS_DLQ_MAXLEN: '3' } });
  });
  afterAll(() => t.close());

  it('match what was published, consumed and dead-lettered; DLQ trimming is counted and logged', async () => {
    const a = await t.token('stats-a', 'admin');
    const b = await t.token('stats-b', 'admin');
    const keys = keysOf(t);
    // The consumer joins the group with its first read.
    await waitUntil(async () => expect((await t.app.get(EventStatsService).getStreamStats()).consumerGroup.consumers).toBe(1));
    const empty = await t.request('GET', '/admin/events/stats', { token: a.token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      mainStream: { name: keys.main, length: 0, firstEntryId: null, lastEntryId: null, entriesAdded: 0 },
      dlq: { name: keys.dlq, length: 0, entriesAdded: 0, trimmed: 0 },
      consumerGroup: { name: CONSUMER_GROUP, consumers: 1, pending: 0, lag: 0, lagSeconds: 0 },
      throughput: { lastHour: 0, last24h: 0 },
    });

    t.app.get(EventSubscriptions).subscribe('stats-fail', 'test.statsfail.*', () => {
      throw new Error('always');
    }, { maxRetries: 1 });
    const publisher = t.app.get(EventPublisher);
    await publisher.publishBatch(Array.from({ length: 20 }, () => input('test.stats.created', a.workspaceId)));
    await publisher.publishBatch(Array.from({ length: 5 }, () => input('test.statsfail.created', a.workspaceId)));
    await waitUntil(async () => {
      expect(await t.redis.call('XINFO', 'STREAM', keys.dlq).then((info) => (info as unknown[])[(info as unknown[]).indexOf('entries-added') + 1])).toBe(5);
      expect(await pendingCount(t)).toBe(0);
    });
    const streamIds = (await t.pool.query('SELECT stream_id FROM event_metadata ORDER BY stream_id')).rows.map((r) => r.stream_id);

    const stats = await t.request('GET', '/admin/events/stats', { token: a.token });
    expect(stats.body).toEqual({
      mainStream: { name: keys.main, length: 25, firstEntryId: streamIds[0], lastEntryId: streamIds[24], entriesAdded: 25 },
      dlq: { name: keys.dlq, length: 3, entriesAdded: 5, trimmed: 2 },
      consumerGroup: { name: CONSUMER_GROUP, consumers: 1, pending: 0, lag: 0, lagSeconds: 0 },
      throughput: { lastHour: 25, last24h: 25 },
    });
    expect(await t.redis.hlen(keys.dlqIndex)).toBe(3);
    const trimLogs = [...t.logs.text.matchAll(/DLQ is full \(EVENT_BUS_DLQ_MAXLEN=3\): trimmed its (\d+) oldest entr/g)];
    expect(trimLogs.reduce((sum, match) => sum + Number(match[1]), 0)).toBe(2);
    // Throughput is the caller's workspace; stream and group figures are the deployment's.
    const other = await t.request('GET', '/admin/events/stats', { token: b.token });
    expect(other.body.throughput).toEqual({ lastHour: 0, last24h: 0 });
    expect(other.body.mainStream.length).toBe(25);

    const service = t.app.get(EventStatsService);
    expect(await service.countRecentByStatus(3_600_000, a.workspaceId)).toEqual({ ...ZERO_STATUSES, COMPLETED: 20, DLQ: 5 });
    expect(await service.countRecentByStatus(3_600_000)).toEqual({ ...ZERO_STATUSES, COMPLETED: 20, DLQ: 5 });
    expect(await service.countRecentByStatus(3_600_000, b.workspaceId)).toEqual(ZERO_STATUSES);

    // Trimming the main stream changes its length, not the number of entries ever added.
    await t.redis.call('XTRIM', keys.main, 'MAXLEN', 5);
    const trimmed = await service.getStreamStats();
    expect(trimmed.mainStream).toEqual({ name: keys.main, length: 5, firstEntryId: streamIds[20], lastEntryId: streamIds[24], entriesAdded: 25 });
  });

  it('needs the admin role', async () => {
    const { token } = await t.token('stats-a', 'member');
    expect((await t.request('GET', '/admin/events/stats', { token })).status).toBe(403);
  });
});

describe('event bus stats with no consumer running', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startEventsApp({ noListen: true });
    await t.app.init();
  });
  afterAll(() => t.close());

  it('report lag, pending and the age of the oldest unfinished event', async () => {
    const keys = keysOf(t);
    const service = t.app.get(EventStatsService);
    const published = await t.app.get(EventPublisher).publishBatch(Array.from({ length: 7 }, () => input('test.lag.created', 'tenant-lag')));
    const ids = (await t.pool.query('SELECT stream_id FROM event_metadata ORDER BY stream_id')).rows.map((r) => r.stream_id as string);
    expect(ids).toHaveLength(published.length);
    const ageOf = (id: string) => (Date.now() - Number(id.split('-')[0])) / 1000;
    const tolerance = 0.5;

    let stats = await service.getStreamStats();
    expect(stats.consumerGroup).toMatchObject({ consumers: 0, pending: 0, lag: 7 });
    expect(stats.consumerGroup.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(Math.abs(stats.consumerGroup.lagSeconds - ageOf(ids[0]!))).toBeLessThan(tolerance);

    // A consumer takes three and acknowledges the first two: the third is now the oldest unfinished event.
    const delivered = readGroupEntries(
      await t.redis.call('XREADGROUP', 'GROUP', CONSUMER_GROUP, 'test-consumer', 'COUNT', 3, 'STREAMS', keys.main, '>'),
    );
    expect(delivered).toHaveLength(3);
    await t.redis.xack(keys.main, CONSUMER_GROUP, ids[0]!, ids[1]!);
    await new Promise((resolve) => setTimeout(resolve, 20));
    stats = await service.getStreamStats();
    expect(stats.consumerGroup).toMatchObject({ consumers: 1, pending: 1, lag: 4 });
    expect(Math.abs(stats.consumerGroup.lagSeconds - ageOf(ids[2]!))).toBeLessThan(tolerance);
    expect(stats.consumerGroup.lagSeconds).toBeLessThanOrEqual(ageOf(ids[0]!));

    // Deleting an undelivered entry leaves Redis unable to count the lag: reported as null, not 0.
    await t.redis.xdel(keys.main, ids[5]!);
    expect((await service.getStreamStats()).consumerGroup.lag).toBeNull();

    await t.redis.del(keys.main);
    expect(await service.getStreamStats()).toEqual({
      mainStream: { name: keys.main, length: 0, firstEntryId: null, lastEntryId: null, entriesAdded: 0 },
      dlq: { name: keys.dlq, length: 0, entriesAdded: 0, trimmed: 0 },
      consumerGroup: { name: CONSUMER_GROUP, consumers: 0, pending: 0, lag: 0, lagSeconds: 0 },
    });
  });
});
