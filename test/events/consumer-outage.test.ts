import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { PrivateRedis } from '../support/redis-server.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, metadataOf, startEventsApp, waitUntil } from './helpers.js';

describe('consumer while Redis is unavailable', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startEventsApp({ env: { ...FAST_BUS_ENV, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' }, noListen: true });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  it('backs off without spinning, says so once, and recovers (re-creating the group) when Redis is back', async () => {
    const handled: string[] = [];
    t.app.get(EventSubscriptions).subscribe('outage', 'test.outage.*', (event) => {
      handled.push(event.id);
    });
    await t.app.init();
    const publisher = t.app.get(EventPublisher);
    const before = await publisher.publish(input('test.outage.created', 'tenant-outage'));
    await waitUntil(() => expect(handled).toEqual([before.id]));

    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const failures = t.logs.lines.filter((line) => line.includes('Event consumer failing'));
    // Backoff 200, 400, 800 ms...: a handful of attempts in 2 s, and only the first one logged.
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/Event consumer failing \(1 in a row\).*retrying in 200 ms/);

    // A fresh Redis: the stream and the group are gone and must be re-created by the consumer.
    await redis.start();
    await waitUntil(async () => {
      expect(t.logs.text).toMatch(/Event consumer recovered after \d+ failed attempt/);
    }, 20_000);
    const after = await publisher.publish(input('test.outage.created', 'tenant-outage'));
    await waitUntil(async () => expect((await metadataOf(t, after.id))?.status).toBe('COMPLETED'));
    expect(handled).toEqual([before.id, after.id]);
  });
});
