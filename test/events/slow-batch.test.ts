import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, pendingCount, startEventsApp, statusCounts, waitUntil } from './helpers.js';

const EVENTS = 8;
const HANDLER_MS = 150;
// The batch takes EVENTS × HANDLER_MS = 1.2 s, four times the claim idle time.
const ENV = { ...FAST_BUS_ENV, EVENT_BUS_CLAIM_IDLE_MS: '300', EVENT_BUS_BATCH_SIZE: String(EVENTS) };

describe('a batch that takes longer than the claim idle time', () => {
  let first: TestApp;
  let second: TestApp | undefined;
  afterAll(async () => {
    await second?.close();
    await first.close();
  });

  it('is not taken over by another consumer while it is being worked through', async () => {
    const handledBy = new Map<string, string[]>();
    const record = (id: string, who: string) => handledBy.set(id, [...(handledBy.get(id) ?? []), who]);
    first = await startEventsApp({ noListen: true, env: ENV });
    first.app.get(EventSubscriptions).subscribe('slow', 'test.slowbatch.*', async (event) => {
      record(event.id, 'first');
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
    });
    // Published before the consumer starts, so its first read takes them all as one batch.
    const published = await first.app.get(EventPublisher).publishBatch(Array.from({ length: EVENTS }, () => input('test.slowbatch.created', 'tenant-slow')));
    await first.app.init();
    await waitUntil(() => expect(handledBy.size).toBeGreaterThan(0));

    second = await startEventsApp({ noListen: true, databaseUrl: first.databaseUrl, prefix: first.prefix, env: ENV });
    second.app.get(EventSubscriptions).subscribe('slow', 'test.slowbatch.*', (event) => {
      record(event.id, 'second');
    });
    await second.app.init();

    await waitUntil(async () => {
      expect((await statusCounts(first)).COMPLETED).toBe(EVENTS);
      expect(await pendingCount(first)).toBe(0);
    });
    expect(published.map((e) => handledBy.get(e.id))).toEqual(published.map(() => ['first']));
  });
});
