import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, keysOf, metadataOf, pendingCount, startEventsApp, waitUntil } from './helpers.js';

const LONG_BLOCK_MS = 30_000;
const HANDLER_MS = 300;

describe('consumer shutdown', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startEventsApp({ env: { ...FAST_BUS_ENV, EVENT_BUS_BLOCK_MS: String(LONG_BLOCK_MS) }, noListen: true });
  });
  afterAll(() => t.close());

  it('finishes the in-flight event, interrupts the blocked read and leaves the group', async () => {
    let started = 0;
    let finished = 0;
    t.app.get(EventSubscriptions).subscribe('slow', 'test.slow.created', async () => {
      started++;
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
      finished++;
    });
    await t.app.init();
    await waitUntil(async () => {
      const consumers = (await t.redis.call('XINFO', 'CONSUMERS', keysOf(t).main, CONSUMER_GROUP)) as unknown[];
      expect(consumers).toHaveLength(1);
    });
    const event = await t.app.get(EventPublisher).publish(input('test.slow.created', 'tenant-shutdown'));
    await waitUntil(() => expect(started).toBe(1));

    const closing = Date.now();
    await t.app.close();
    // Well under the 30 s block: the read was interrupted rather than waited out.
    expect(Date.now() - closing).toBeLessThan(LONG_BLOCK_MS / 3);
    expect(finished).toBe(1);
    expect((await metadataOf(t, event.id))!.status).toBe('COMPLETED');
    expect(await pendingCount(t)).toBe(0);
    expect(await t.redis.call('XINFO', 'CONSUMERS', keysOf(t).main, CONSUMER_GROUP)).toEqual([]);
    expect(t.logs.text).toMatch(/Event consumer \S+ stopped/);
  });
});
