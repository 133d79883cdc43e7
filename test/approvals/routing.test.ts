import fc from 'fast-check';
import { dueInSeconds, routeApproval } from '../../src/approvals/approval-routing.js';
import { approvalIdForRequest } from '../../src/approvals/approval-request.subscriber.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { buildEnvelope } from '../../src/events/event-envelope.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { approvalBody, createApproval, eventsFor, HOUR_MS, streamEvents } from './helpers.js';

describe('routing rule', () => {
  it('is inclusive at both thresholds', () => {
    const defaults = { autoApproveThreshold: 85, quickReviewThreshold: 60 };
    expect(routeApproval(85, defaults)).toEqual({ status: 'auto_approved', reviewType: 'auto' });
    expect(routeApproval(84, defaults)).toEqual({ status: 'pending', reviewType: 'quick' });
    expect(routeApproval(60, defaults)).toEqual({ status: 'pending', reviewType: 'quick' });
    expect(routeApproval(59, defaults)).toEqual({ status: 'pending', reviewType: 'full' });
  });

  it('agrees with the thresholds for every score and valid threshold pair', () => {
    const thresholds = fc
      .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))
      .map(([a, b]) => ({ quickReviewThreshold: Math.min(a, b), autoApproveThreshold: Math.max(a, b) }));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), thresholds, (score, t) => {
        const route = routeApproval(score, t);
        if (score >= t.autoApproveThreshold) return route.status === 'auto_approved';
        return route.status === 'pending' && route.reviewType === (score >= t.quickReviewThreshold ? 'quick' : 'full');
      }),
    );
  });

  it('scales the priority due times with the workspace timeout (defaults: 4/24/48/72 h)', () => {
    expect(['urgent', 'high', 'medium', 'low'].map((p) => dueInSeconds(p as 'low', 48) / 3600)).toEqual([4, 24, 48, 72]);
    expect(['urgent', 'high', 'medium', 'low'].map((p) => dueInSeconds(p as 'low', 24) / 3600)).toEqual([2, 12, 24, 36]);
  });
});

describe('POST /approvals', () => {
  let t: TestApp;
  let member: { token: string; workspaceId: string; tokenId: string };
  let owner: { token: string; workspaceId: string; tokenId: string };
  beforeAll(async () => {
    t = await startTestApp();
    member = await t.token('routing', 'member');
    owner = await t.token('custom', 'owner');
    const put = await t.request('PUT', '/approvals/settings', {
      token: owner.token,
      body: { autoApproveThreshold: 90, quickReviewThreshold: 70 },
    });
    expect(put.status).toBe(200);
  });
  afterAll(() => t.close());

  it('routes by the default thresholds, boundaries included, and records the requester', async () => {
    const cases = [
      [85, 'auto_approved', 'auto'],
      [84, 'pending', 'quick'],
      [60, 'pending', 'quick'],
      [59, 'pending', 'full'],
    ] as const;
    for (const [score, status, reviewType] of cases) {
      const item = await createApproval(t, member.token, { confidenceScore: score });
      expect(item).toMatchObject({ status, reviewType, workspaceId: member.workspaceId, requestedBy: member.tokenId });
      expect(item.id).toMatch(/^[0-9a-f-]{36}$/);
      if (status === 'auto_approved') {
        expect(item.resolvedAt).not.toBeNull();
        expect(item.resolvedById).toBeNull();
        expect(item.resolution).toEqual({ decision: 'auto_approved', confidenceScore: 85, autoApproveThreshold: 85 });
      } else {
        expect(item.resolvedAt).toBeNull();
      }
    }
  });

  it("routes by the workspace's own thresholds", async () => {
    const cases = [
      [90, 'auto_approved'],
      [89, 'pending', 'quick'],
      [70, 'pending', 'quick'],
      [69, 'pending', 'full'],
    ] as const;
    for (const [score, status, reviewType] of cases) {
      const item = await createApproval(t, owner.token, { confidenceScore: score });
      expect(item.status).toBe(status);
      if (reviewType) expect(item.reviewType).toBe(reviewType);
    }
  });

  it('sets dueAt from the priority: urgent 4 h, high 24 h, medium (default) 48 h, low 72 h', async () => {
    const expected = { urgent: 4, high: 24, medium: 48, low: 72 } as const;
    for (const [priority, hours] of Object.entries(expected)) {
      const item = await createApproval(t, member.token, { priority });
      expect(item.priority).toBe(priority);
      expect(Date.parse(item.dueAt) - Date.parse(item.createdAt)).toBe(hours * HOUR_MS);
    }
    const byDefault = await createApproval(t, member.token);
    expect(byDefault.priority).toBe('medium');
    expect(Date.parse(byDefault.dueAt) - Date.parse(byDefault.createdAt)).toBe(48 * HOUR_MS);
  });

  it('scales due dates with a changed approval timeout', async () => {
    const { token } = await t.token('short-timeout', 'owner');
    expect((await t.request('PUT', '/approvals/settings', { token, body: { approvalTimeoutHours: 24 } })).status).toBe(200);
    const urgent = await createApproval(t, token, { priority: 'urgent' });
    expect(Date.parse(urgent.dueAt) - Date.parse(urgent.createdAt)).toBe(2 * HOUR_MS);
  });

  it('stores every optional field and publishes approval.item.created (and auto_approved when so routed)', async () => {
    const factors = [
      { factor: 'historical_accuracy', score: 90, weight: 0.6, explanation: 'past posts did well' },
      { factor: 'data_completeness', score: 80, weight: 0.405, explanation: 'all fields present', concerning: false },
    ];
    const item = await createApproval(t, member.token, {
      confidenceScore: 88,
      description: 'd',
      confidenceFactors: factors,
      aiRecommendation: 'approve',
      sourceModule: 'content',
      sourceId: 'post-1',
      assignedToId: 'reviewer-7',
      previewData: { headline: 'Hello', blocks: [1, 2, 3] },
    });
    expect(item).toMatchObject({
      status: 'auto_approved',
      confidenceFactors: factors,
      previewData: { headline: 'Hello', blocks: [1, 2, 3] },
      assignedToId: 'reviewer-7',
    });
    const events = eventsFor(await streamEvents(t), item.id);
    expect(events.map((e) => e.type)).toEqual(['approval.item.created', 'approval.item.auto_approved']);
    for (const event of events) {
      expect(event).toMatchObject({ tenantId: member.workspaceId, userId: member.tokenId, source: 'approvals' });
      expect(event.data).toMatchObject({ approvalId: item.id, status: 'auto_approved', confidenceScore: 88 });
      expect(event.data).not.toHaveProperty('previewData');
    }

    const pending = await createApproval(t, member.token, { confidenceScore: 10 });
    expect(eventsFor(await streamEvents(t), pending.id).map((e) => e.type)).toEqual(['approval.item.created']);
  });

  it('answers 400 naming the field for invalid input', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ confidenceScore: 101 }, /^confidenceScore must not be greater than 100$/],
      [{ confidenceScore: 50.5 }, /^confidenceScore must be an integer/],
      [{ confidenceScore: '80' }, /^confidenceScore must be an integer/],
      [{ title: undefined }, /^title must be/],
      [{ priority: 'critical' }, /^priority must be one of/],
      [{ workspaceId: '00000000-0000-0000-0000-000000000000' }, /^property workspaceId should not exist$/],
      [{ previewData: { blob: 'x'.repeat(33 * 1024) } }, /^previewData must be at most 32768 bytes of JSON$/],
      [{ previewData: [1, 2] }, /^previewData must be an object$/],
      [{ confidenceFactors: [] }, /^confidenceFactors must contain at least 1 elements$/],
      [
        { confidenceFactors: [{ factor: 'a', score: 150, weight: 1, explanation: 'x' }] },
        /^confidenceFactors\.0\.score must not be greater than 100$/,
      ],
      [
        { confidenceFactors: [{ factor: 'a', score: 50, weight: 1, explanation: 'x', extra: true }] },
        // The shared pipe does not prefix whitelist messages with the nested path; the field is still named.
        /property extra should not exist$/,
      ],
      [
        {
          confidenceFactors: [
            { factor: 'a', score: 50, weight: 0.5, explanation: 'x' },
            { factor: 'b', score: 50, weight: 0.4, explanation: 'y' },
          ],
        },
        /^confidenceFactors weights must sum to 1 \(±0\.01\); they sum to 0\.9$/,
      ],
    ];
    const { token } = member;
    for (const [override, message] of bad) {
      const res = await t.request('POST', '/approvals', { token, body: approvalBody(override) });
      expect(res.status, JSON.stringify(override).slice(0, 80)).toBe(400);
      expect(res.body.message.some((m: string) => message.test(m)), JSON.stringify(res.body.message)).toBe(true);
    }
    const count = await t.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE workspace_id = $1`, [member.workspaceId]);
    const before = count.rows[0].n;
    expect((await t.request('POST', '/approvals', { token, body: approvalBody({ confidenceScore: -1 }) })).status).toBe(400);
    const after = await t.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE workspace_id = $1`, [member.workspaceId]);
    expect(after.rows[0].n).toBe(before);
  });

  it('needs a token', async () => {
    expect((await t.request('POST', '/approvals', { body: approvalBody() })).status).toBe(401);
  });
});

describe('approval.item.requested handler', () => {
  let t: TestApp;
  let workspaceId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const owner = await t.token('requests', 'owner');
    workspaceId = owner.workspaceId;
    await t.request('PUT', '/approvals/settings', {
      token: owner.token,
      body: { autoApproveThreshold: 95, quickReviewThreshold: 80 },
    });
  });
  afterAll(() => t.close());

  /** The handlers the consumer would run for this type: the real registration, not a stand-in. */
  async function deliver(data: Record<string, unknown>, extra: { tenantId?: string; userId?: string; id?: string } = {}) {
    const event = buildEnvelope({
      type: 'approval.item.requested',
      data,
      tenantId: extra.tenantId ?? workspaceId,
      userId: extra.userId,
      source: 'agent.content',
      id: extra.id,
    });
    const handlers = t.app.get(EventSubscriptions).matching(event.type);
    expect(handlers.map((h) => h.name)).toContain('approvals.create-requested-item');
    for (const subscription of handlers) await subscription.handler(event);
    return event;
  }

  it('creates the item through the same routing (custom thresholds, boundaries) and publishes created', async () => {
    const routed: [number, string, string][] = [
      [95, 'auto_approved', 'auto'],
      [94, 'pending', 'quick'],
      [80, 'pending', 'quick'],
      [79, 'pending', 'full'],
    ];
    for (const [score, status, reviewType] of routed) {
      const event = await deliver(approvalBody({ confidenceScore: score, priority: 'high' }), { userId: 'agent-token-1' });
      const rows = await t.pool.query(`SELECT * FROM approval_items WHERE id = $1`, [approvalIdForRequest(event.id)]);
      expect(rows.rows[0]).toMatchObject({ status, review_type: reviewType, workspace_id: workspaceId, requested_by: 'agent-token-1' });
      expect(rows.rows[0].due_at.getTime() - rows.rows[0].created_at.getTime()).toBe(24 * HOUR_MS);
      const published = eventsFor(await streamEvents(t), rows.rows[0].id);
      expect(published[0]).toMatchObject({ type: 'approval.item.created', correlationId: event.correlationId });
    }
  });

  it('creates one item however often the same event is delivered', async () => {
    const event = await deliver(approvalBody({ title: 'delivered twice' }));
    const again = t.app.get(EventSubscriptions).matching(event.type);
    for (const subscription of again) await subscription.handler(event);
    const rows = await t.pool.query(`SELECT requested_by FROM approval_items WHERE title = 'delivered twice'`);
    expect(rows.rows).toEqual([{ requested_by: 'agent.content' }]);
    expect((await streamEvents(t, 'approval.item.created')).filter((e) => e.data.title === 'delivered twice')).toHaveLength(1);
  });

  it('rejects (throws, so the bus retries then dead-letters) invalid payloads and unknown workspaces', async () => {
    await expect(deliver(approvalBody({ confidenceScore: 101 }))).rejects.toThrow(/confidenceScore/);
    await expect(
      deliver(approvalBody({ confidenceFactors: [{ factor: 'a', score: 5, weight: 0.2, explanation: 'x' }] })),
    ).rejects.toThrow(/confidenceFactors weights must sum to 1/);
    await expect(deliver(approvalBody(), { tenantId: 'not-a-workspace' })).rejects.toThrow(/not a workspace id/);
    await expect(deliver(approvalBody(), { tenantId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(/does not exist/);
  });
});
