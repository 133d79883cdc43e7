import { ApprovalQueueStatsService } from '../../src/approvals/approval-queue-stats.service.js';
import { AiProviderStatsService } from '../../src/ai-providers/ai-provider-stats.service.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventStatsService } from '../../src/events/event-stats.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const FAST_COLLECTORS = { METRICS_COLLECT_INTERVAL_SECONDS: '0.1', METRICS_COLLECT_TIMEOUT_MS: '1000' };

async function scrape(t: TestApp): Promise<Exposition> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

const main = { stream: 'main', consumer_group: 'hyvve-platform' };

describe('event bus metrics', () => {
  let t: TestApp;
  const seen = new Map<string, number>();
  beforeAll(async () => {
    t = await startTestApp({
      env: { ...FAST_COLLECTORS, EVENT_BUS_CONSUMER_ENABLED: 'true', EVENT_BUS_RETRY_DELAYS_MS: '20', EVENT_BUS_CLAIM_IDLE_MS: '2000', EVENT_BUS_BLOCK_MS: '100' },
    });
    const subscriptions = t.app.get(EventSubscriptions);
    subscriptions.subscribe('metrics-test.count', '*', (event) => {
      seen.set(event.id, (seen.get(event.id) ?? 0) + 1);
      if (event.type === 'approval.item.rejected') throw new Error('always fails');
    }, { maxRetries: 2 });
  });
  afterAll(() => t.close());

  it('declares every event bus metric with its type, and the recent-events statuses with zeros', async () => {
    const m = await scrape(t);
    expect(m.types.get('event_bus_throughput_total')).toBe('counter');
    for (const gauge of ['event_bus_stream_length', 'event_bus_consumer_lag', 'event_bus_consumer_lag_seconds', 'event_bus_pending_messages', 'event_bus_consumers', 'event_bus_dlq_size', 'event_bus_recent_events']) {
      expect(m.types.get(gauge), gauge).toBe('gauge');
    }
    expect(m.types.get('event_bus_events_processed_total')).toBe('counter');
    expect(m.types.get('event_bus_processing_duration_seconds')).toBe('histogram');
    for (const status of ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'DLQ']) {
      expect(m.value('event_bus_recent_events', { status })).toBe(0);
    }
    expect(m.value('event_bus_events_published_total', { type: 'approval.item.approved' })).toBe(0);
    expect(m.value('event_bus_events_processed_total', { type: 'other', outcome: 'dead_lettered' })).toBe(0);
    expect(m.value('metrics_collector_up', { collector: 'event_bus' })).toBe(1);
  });

  it('equals what was published, consumed and dead-lettered, and throughput survives trimming', async () => {
    const publisher = t.app.get(EventPublisher);
    const tenantId = '00000000-0000-0000-0000-000000000001';
    await publisher.publishBatch(Array.from({ length: 30 }, (_, i) => ({ type: 'approval.item.approved', data: { i }, tenantId })));
    await publisher.publishBatch(Array.from({ length: 5 }, (_, i) => ({ type: 'custom.thing.happened', data: { i }, tenantId })));
    await publisher.publishBatch(Array.from({ length: 3 }, (_, i) => ({ type: 'approval.item.rejected', data: { i }, tenantId })));

    await vi.waitFor(async () => {
      const m = await scrape(t);
      expect(m.value('event_bus_dlq_size')).toBe(3);
      expect(m.value('event_bus_pending_messages', main)).toBe(0);
      expect(m.value('event_bus_recent_events', { status: 'COMPLETED' })).toBe(35);
    }, { timeout: 15_000, interval: 200 });

    const m = await scrape(t);
    expect(m.value('event_bus_throughput_total', { stream: 'main' })).toBe(38);
    expect(m.value('event_bus_throughput_total', { stream: 'dlq' })).toBe(3);
    expect(m.value('event_bus_stream_length', { stream: 'main' })).toBe(38);
    expect(m.value('event_bus_consumer_lag', main)).toBe(0);
    expect(m.value('event_bus_consumer_lag_seconds', main)).toBe(0);
    expect(m.value('event_bus_consumers', main)).toBeGreaterThanOrEqual(1);
    expect(m.value('event_bus_recent_events', { status: 'DLQ' })).toBe(3);
    expect(m.value('event_bus_events_published_total', { type: 'approval.item.approved' })).toBe(30);
    expect(m.value('event_bus_events_published_total', { type: 'other' })).toBe(5);
    expect(m.value('event_bus_events_processed_total', { type: 'approval.item.approved', outcome: 'success' })).toBe(30);
    expect(m.value('event_bus_events_processed_total', { type: 'other', outcome: 'success' })).toBe(5);
    expect(m.value('event_bus_events_processed_total', { type: 'approval.item.rejected', outcome: 'retried' })).toBe(3);
    expect(m.value('event_bus_events_processed_total', { type: 'approval.item.rejected', outcome: 'dead_lettered' })).toBe(3);
    expect(m.value('event_bus_processing_duration_seconds_count', { type: 'approval.item.approved' })).toBe(30);
    expect(m.samples.some((s) => s.labels.type === 'custom.thing.happened')).toBe(false);

    await t.redis.xtrim(`${t.prefix}:events:main`, 'MAXLEN', 0);
    await vi.waitFor(async () => expect((await scrape(t)).value('event_bus_stream_length', { stream: 'main' })).toBe(0), { timeout: 5000 });
    expect((await scrape(t)).value('event_bus_throughput_total', { stream: 'main' })).toBe(38);
  });

  it('shows lag in entries and seconds while the group is behind', async () => {
    const behind = await startTestApp({ env: FAST_COLLECTORS });
    try {
      const publisher = behind.app.get(EventPublisher);
      await publisher.publishBatch(Array.from({ length: 4 }, () => ({ type: 'approval.item.created', data: {}, tenantId: 'x' })));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const m = await scrape(behind);
      expect(m.value('event_bus_consumer_lag', main)).toBe(4);
      expect(m.value('event_bus_consumer_lag_seconds', main)).toBeGreaterThanOrEqual(1);
      expect(m.value('event_bus_pending_messages', main)).toBe(0);
    } finally {
      await behind.close();
    }
  });
});

describe('collector refresh discipline', () => {
  it('100 concurrent scrapes cause at most one refresh per collector', async () => {
    const t = await startTestApp({ env: { METRICS_COLLECT_INTERVAL_SECONDS: '60' } });
    try {
      const counted = [
        vi.spyOn(t.app.get(EventStatsService), 'getStreamStats'),
        vi.spyOn(t.app.get(EventStatsService), 'countRecentByStatus'),
        vi.spyOn(t.app.get(ApprovalQueueStatsService), 'getQueueMetrics'),
        vi.spyOn(t.app.get(AiProviderStatsService), 'getProviderMetrics'),
      ];
      const responses = await Promise.all(Array.from({ length: 100 }, () => fetch(`${t.url}/metrics`)));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      await Promise.all(responses.map((r) => r.text()));
      for (const spy of counted) expect(spy).toHaveBeenCalledTimes(1);
      // And the values are real: the refresh ran against the real services.
      expect((await scrape(t)).value('metrics_collector_up', { collector: 'approvals' })).toBe(1);
    } finally {
      await t.close();
    }
  });
});
