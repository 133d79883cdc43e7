import { approvalIdForRequest } from '../../src/approvals/approval-request.subscriber.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { approvalBody, eventsFor, streamEvents } from './helpers.js';

// End to end through the real bus: POST /events, the consumer, the registered handler.
describe('approval.item.requested through the event bus consumer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: {
        EVENT_BUS_CONSUMER_ENABLED: 'true',
        EVENT_BUS_BLOCK_MS: '100',
        EVENT_BUS_MAX_RETRIES: '2',
        EVENT_BUS_RETRY_DELAYS_MS: '50,50',
      },
    });
  });
  afterAll(() => t.close());

  it('creates the routed item once and publishes approval.item.created with the request correlation id', async () => {
    const { workspaceId, token, tokenId } = await t.token('via-bus', 'owner');
    await t.request('PUT', '/approvals/settings', { token, body: { autoApproveThreshold: 90, quickReviewThreshold: 75 } });
    const published = await t.request('POST', '/events', {
      token,
      body: { type: 'approval.item.requested', data: approvalBody({ confidenceScore: 75, priority: 'low', title: 'via the bus' }) },
    });
    expect(published.status).toBe(201);
    const id = approvalIdForRequest(published.body.id);
    await vi.waitFor(
      async () => {
        const res = await t.request('GET', `/approvals/${id}`, { token });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'pending', reviewType: 'quick', requestedBy: tokenId, title: 'via the bus' });
      },
      { timeout: 10_000, interval: 100 },
    );
    await vi.waitFor(async () => {
      const created = eventsFor(await streamEvents(t, 'approval.item.created'), id);
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({ correlationId: published.body.correlationId, tenantId: workspaceId, userId: tokenId });
    });
  });

  it('an invalid request ends in the DLQ with the field named, and creates nothing', async () => {
    const { token, workspaceId } = await t.token('via-bus-invalid', 'member');
    const published = await t.request('POST', '/events', {
      token,
      body: { type: 'approval.item.requested', data: approvalBody({ confidenceScore: 101 }) },
    });
    expect(published.status).toBe(201);
    await vi.waitFor(
      async () => {
        const dead = await t.redis.xrange(`${t.prefix}:events:dlq`, '-', '+');
        const entry = dead.map(([, fields]) => fields.join(' ')).find((text) => text.includes(published.body.id));
        expect(entry).toMatch(/confidenceScore/);
      },
      { timeout: 10_000, interval: 100 },
    );
    const rows = await t.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE workspace_id = $1`, [workspaceId]);
    expect(rows.rows[0].n).toBe(0);
  });
});
