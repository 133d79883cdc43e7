import { ApprovalEscalationService } from '../../src/approvals/approval-escalation.service.js';
import { ApprovalQueueStatsService } from '../../src/approvals/approval-queue-stats.service.js';
import { APPROVAL_STATUSES } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createApproval, HOUR_MS, insertPending } from './helpers.js';

describe('GET/PUT /approvals/settings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers the defaults, creating the row on first read when the workspace has none', async () => {
    const { token, workspaceId } = await t.token('settings-a', 'member');
    await t.pool.query(`DELETE FROM workspace_settings WHERE workspace_id = $1`, [workspaceId]);
    const res = await t.request('GET', '/approvals/settings', { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ workspaceId, autoApproveThreshold: 85, quickReviewThreshold: 60, approvalTimeoutHours: 48 });
    const rows = await t.pool.query(`SELECT count(*)::int AS n FROM workspace_settings WHERE workspace_id = $1`, [workspaceId]);
    expect(rows.rows[0].n).toBe(1);
  });

  it('only the owner can change them; fields left out keep their value', async () => {
    const owner = await t.token('settings-b', 'owner');
    const admin = await t.token('settings-b', 'admin');
    const member = await t.token('settings-b', 'member');
    expect((await t.request('PUT', '/approvals/settings', { token: admin.token, body: { autoApproveThreshold: 90 } })).status).toBe(403);
    expect((await t.request('PUT', '/approvals/settings', { token: member.token, body: { autoApproveThreshold: 90 } })).status).toBe(403);
    const res = await t.request('PUT', '/approvals/settings', { token: owner.token, body: { autoApproveThreshold: 90 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ autoApproveThreshold: 90, quickReviewThreshold: 60, approvalTimeoutHours: 48 });
    const both = await t.request('PUT', '/approvals/settings', {
      token: owner.token,
      body: { autoApproveThreshold: 100, quickReviewThreshold: 0, approvalTimeoutHours: 1 },
    });
    expect(both.body).toMatchObject({ autoApproveThreshold: 100, quickReviewThreshold: 0, approvalTimeoutHours: 1 });
    expect((await t.request('GET', '/approvals/settings', { token: member.token })).body).toMatchObject(both.body);
    // Another workspace is unaffected.
    const other = await t.token('settings-c', 'member');
    expect((await t.request('GET', '/approvals/settings', { token: other.token })).body.autoApproveThreshold).toBe(85);
    // Equal thresholds are allowed: nothing gets a quick review.
    const equal = await t.request('PUT', '/approvals/settings', { token: owner.token, body: { autoApproveThreshold: 70, quickReviewThreshold: 70 } });
    expect(equal.status).toBe(200);
  });

  it('answers 400 naming the field for invalid values, and changes nothing', async () => {
    const { token, workspaceId } = await t.token('settings-d', 'owner');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ autoApproveThreshold: 101 }, /^autoApproveThreshold must not be greater than 100$/],
      [{ quickReviewThreshold: -1 }, /^quickReviewThreshold must not be less than 0$/],
      [{ approvalTimeoutHours: 0 }, /^approvalTimeoutHours must not be less than 1$/],
      [{ approvalTimeoutHours: 1.5 }, /^approvalTimeoutHours must be an integer number$/],
      [{ autoApproveThreshold: '90' }, /^autoApproveThreshold must be an integer number$/],
      [{ quickReviewThreshold: 86 }, /^quickReviewThreshold must keep quickReviewThreshold \(86\) <= autoApproveThreshold \(85\)$/],
      [{ autoApproveThreshold: 59 }, /^autoApproveThreshold must keep quickReviewThreshold \(60\) <= autoApproveThreshold \(59\)$/],
      [{ autoApproveThreshold: 50, quickReviewThreshold: 70 }, /^quickReviewThreshold must keep/],
      [{ workspaceId }, /^property workspaceId should not exist$/],
    ];
    for (const [body, message] of cases) {
      const res = await t.request('PUT', '/approvals/settings', { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message.some((m: string) => message.test(m)), JSON.stringify(res.body.message)).toBe(true);
    }
    expect((await t.request('GET', '/approvals/settings', { token })).body).toMatchObject({
      autoApproveThreshold: 85,
      quickReviewThreshold: 60,
      approvalTimeoutHours: 48,
    });
  });

  it('concurrent partial updates never combine into an invalid pair', async () => {
    const { token, workspaceId } = await t.token('settings-e', 'owner');
    const results = await Promise.all([
      t.request('PUT', '/approvals/settings', { token, body: { quickReviewThreshold: 80 } }),
      t.request('PUT', '/approvals/settings', { token, body: { autoApproveThreshold: 70 } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const row = await t.pool.query(`SELECT * FROM workspace_settings WHERE workspace_id = $1`, [workspaceId]);
    expect(row.rows[0].quick_review_threshold).toBeLessThanOrEqual(row.rows[0].auto_approve_threshold);
  });
});

describe('getQueueMetrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is zero for every status on an empty queue', async () => {
    const metrics = await t.app.get(ApprovalQueueStatsService).getQueueMetrics();
    expect(metrics).toEqual({
      depthByStatus: Object.fromEntries(APPROVAL_STATUSES.map((s) => [s, 0])),
      oldestOpenCreatedAt: null,
      overdue: 0,
    });
  });

  it('counts exactly what was created, across workspaces', async () => {
    const a = await t.token('metrics-a', 'admin');
    const b = await t.token('metrics-b', 'admin');
    const made: Record<string, { id: string; createdAt: string; dueAt: string }[]> = { a: [], b: [] };
    for (const [key, caller] of [['a', a], ['b', b]] as const) {
      for (const score of [10, 20, 70, 90, 95]) made[key]!.push(await createApproval(t, caller.token, { confidenceScore: score, priority: 'urgent' }));
    }
    // a: 3 pending + 2 auto_approved; then approve one, reject one, cancel one of b's pending, escalate one.
    await t.request('POST', `/approvals/${made.a![0]!.id}/approve`, { token: a.token });
    await t.request('POST', `/approvals/${made.a![1]!.id}/reject`, { token: a.token, body: { reason: 'no' } });
    await t.request('DELETE', `/approvals/${made.b![0]!.id}`, { token: b.token });
    // Everything pending is urgent (due in 4 h); push one of b's into the past and escalate it.
    await t.pool.query(`UPDATE approval_items SET due_at = now() - interval '1 hour' WHERE id = $1`, [made.b![1]!.id]);
    const escalated = await t.app.get(ApprovalEscalationService).escalateOverdue();
    expect(escalated.map((i) => i.id)).toEqual([made.b![1]!.id]);

    const stats = t.app.get(ApprovalQueueStatsService);
    const metrics = await stats.getQueueMetrics();
    expect(metrics.depthByStatus).toEqual({ pending: 2, approved: 1, rejected: 1, auto_approved: 4, cancelled: 1, escalated: 1 });
    const open = [made.a![2]!, made.b![1]!, made.b![2]!];
    const oldest = Math.min(...open.map((i) => Date.parse(i.createdAt)));
    expect(metrics.oldestOpenCreatedAt).toBeInstanceOf(Date);
    // The API serialises milliseconds; the database keeps microseconds.
    expect(metrics.oldestOpenCreatedAt!.getTime()).toBe(oldest);
    expect(metrics.overdue).toBe(1);

    // Five hours on, every open item (pending or escalated) is overdue.
    expect((await stats.getQueueMetrics(new Date(Date.now() + 5 * HOUR_MS))).overdue).toBe(3);
  });

  it('the counters equal a full count after bulk inserts, updates, a workspace delete and a truncate', async () => {
    const { workspaceId } = await t.token('metrics-bulk', 'member');
    const { workspaceId: doomed } = await t.token('metrics-doomed', 'member');
    await insertPending(t, workspaceId, 500, '2020-01-01T00:00:00Z');
    await insertPending(t, doomed, 120, '2040-01-01T00:00:00Z');
    await t.pool.query(`UPDATE approval_items SET status = 'approved' WHERE id IN (SELECT id FROM approval_items WHERE workspace_id = $1 LIMIT 150)`, [workspaceId]);
    await t.pool.query(`UPDATE approval_items SET title = title || '!' WHERE workspace_id = $1`, [workspaceId]);
    const check = async () => {
      const metrics = await t.app.get(ApprovalQueueStatsService).getQueueMetrics();
      const actual = await t.pool.query(`SELECT status, count(*)::int AS n FROM approval_items GROUP BY status`);
      const expected = Object.fromEntries(APPROVAL_STATUSES.map((s) => [s, 0]));
      for (const row of actual.rows) expected[row.status] = row.n;
      expect(metrics.depthByStatus).toEqual(expected);
      const overdue = await t.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE status IN ('pending','escalated') AND due_at < now()`);
      expect(metrics.overdue).toBe(overdue.rows[0].n);
    };
    await check();
    await t.pool.query(`DELETE FROM workspaces WHERE id = $1`, [doomed]);
    await check();
    await t.pool.query(`TRUNCATE approval_items`);
    await check();
  });
});
