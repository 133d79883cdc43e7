import { SchedulerRegistry } from '@nestjs/schedule';
import { ApprovalEscalationService } from '../../src/approvals/approval-escalation.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createApproval, eventsFor, HOUR_MS, insertPending, streamEvents } from './helpers.js';

describe('escalation', () => {
  let t: TestApp;
  let member: { token: string; workspaceId: string };
  let escalation: ApprovalEscalationService;
  beforeAll(async () => {
    t = await startTestApp();
    member = await t.token('escalate', 'member');
    escalation = t.app.get(ApprovalEscalationService);
  });
  afterAll(() => t.close());

  it('escalates only pending items past dueAt, once, with escalatedAt and one event each', async () => {
    const urgent = await createApproval(t, member.token, { priority: 'urgent', confidenceScore: 10 });
    const high = await createApproval(t, member.token, { priority: 'high', confidenceScore: 10 });
    const decided = await createApproval(t, member.token, { priority: 'urgent', confidenceScore: 10 });
    const auto = await createApproval(t, member.token, { priority: 'urgent', confidenceScore: 95 });
    const { token: admin } = await t.token('escalate', 'admin');
    await t.request('POST', `/approvals/${decided.id}/approve`, { token: admin });

    // Five hours on: only the urgent (4 h) pending item is overdue.
    const later = new Date(Date.parse(urgent.createdAt) + 5 * HOUR_MS);
    const escalated = await escalation.escalateOverdue(later);
    expect(escalated.map((i) => i.id)).toEqual([urgent.id]);
    expect(escalated[0]).toMatchObject({ status: 'escalated', escalatedAt: later, resolvedAt: null });

    const stored = await t.request('GET', `/approvals/${urgent.id}`, { token: member.token });
    expect(stored.body).toMatchObject({ status: 'escalated', escalatedAt: later.toISOString() });
    for (const id of [high.id, decided.id, auto.id]) {
      const other = await t.request('GET', `/approvals/${id}`, { token: member.token });
      expect(other.body.escalatedAt).toBeNull();
    }

    // Running again escalates nothing new; the event was published once.
    expect(await escalation.escalateOverdue(new Date(later.getTime() + HOUR_MS))).toEqual([]);
    const events = eventsFor(await streamEvents(t, 'approval.item.escalated'), urgent.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tenantId: member.workspaceId,
      userId: null,
      source: 'approvals',
      data: { approvalId: urgent.id, status: 'escalated', priority: 'urgent', escalatedAt: later.toISOString(), dueAt: urgent.dueAt },
    });

    // A day on, the high-priority one follows; nothing in the present is overdue.
    expect(await escalation.escalateOverdue()).toEqual([]);
    const dayLater = new Date(Date.parse(high.createdAt) + 25 * HOUR_MS);
    expect((await escalation.escalateOverdue(dayLater)).map((i) => i.id)).toEqual([high.id]);
  });

  it('two runners at once escalate each item exactly once, one event each', async () => {
    const { workspaceId } = await t.token('escalate-race', 'member');
    const ids = await insertPending(t, workspaceId, 1300, '2020-01-01T00:00:00Z');
    const [a, b] = await Promise.all([escalation.escalateOverdue(), escalation.escalateOverdue()]);
    const escalated = [...a, ...b].map((i) => i.id);
    expect(escalated).toHaveLength(1300);
    expect(new Set(escalated)).toEqual(new Set(ids));
    const events = (await streamEvents(t, 'approval.item.escalated')).filter((e) => e.tenantId === workspaceId);
    expect(events).toHaveLength(1300);
    expect(new Set(events.map((e) => e.data.approvalId)).size).toBe(1300);
    const left = await t.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE workspace_id = $1 AND status <> 'escalated'`, [workspaceId]);
    expect(left.rows[0].n).toBe(0);
  });

  it('an item decided while overdue is not escalated afterwards, and an escalated one can be decided', async () => {
    const { token: admin } = await t.token('escalate', 'admin');
    const [a, b] = [await createApproval(t, member.token, { priority: 'urgent' }), await createApproval(t, member.token, { priority: 'urgent' })];
    await t.request('DELETE', `/approvals/${a.id}`, { token: admin });
    const later = new Date(Date.parse(a.createdAt) + 5 * HOUR_MS);
    const escalated = (await escalation.escalateOverdue(later)).map((i) => i.id);
    expect(escalated).toContain(b.id);
    expect(escalated).not.toContain(a.id);
    const decided = await t.request('POST', `/approvals/${b.id}/reject`, { token: admin, body: { reason: 'too late' } });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'rejected', escalatedAt: later.toISOString() });
  });
});

describe('escalation on two API instances sharing one database', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    const env = { APPROVAL_ESCALATION_ENABLED: 'true', APPROVAL_ESCALATION_INTERVAL_SECONDS: '1' };
    first = await startTestApp({ env });
    second = await startTestApp({ env, databaseUrl: first.databaseUrl, prefix: first.prefix });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('the scheduled jobs of both instances escalate every overdue item exactly once', async () => {
    const { workspaceId } = await first.token('two-instances', 'member');
    const ids = await insertPending(first, workspaceId, 1200, '2020-01-01T00:00:00Z');
    await vi.waitFor(
      async () => {
        const open = await first.pool.query(`SELECT count(*)::int AS n FROM approval_items WHERE status = 'pending'`);
        expect(open.rows[0].n).toBe(0);
      },
      { timeout: 15_000, interval: 200 },
    );
    const events = await streamEvents(first, 'approval.item.escalated');
    expect(events).toHaveLength(1200);
    expect(new Set(events.map((e) => e.data.approvalId))).toEqual(new Set(ids));
  });

  it('both instances also race through escalateOverdue() directly without a double escalation', async () => {
    const { workspaceId } = await first.token('two-instances-direct', 'member');
    await insertPending(first, workspaceId, 700, '2020-01-01T00:00:00Z');
    const [a, b] = await Promise.all([
      first.app.get(ApprovalEscalationService).escalateOverdue(),
      second.app.get(ApprovalEscalationService).escalateOverdue(),
    ]);
    // The scheduled runs may take some too; together, every item exactly once.
    await vi.waitFor(async () => {
      const events = (await streamEvents(first, 'approval.item.escalated')).filter((e) => e.tenantId === workspaceId);
      expect(events).toHaveLength(700);
      expect(new Set(events.map((e) => e.data.approvalId)).size).toBe(700);
    });
    expect(new Set([...a, ...b].map((i) => i.id)).size).toBe(a.length + b.length);
  });
});

describe('escalation schedule', () => {
  it('does not run when APPROVAL_ESCALATION_ENABLED=false', async () => {
    const t = await startTestApp({ env: { APPROVAL_ESCALATION_ENABLED: 'false', APPROVAL_ESCALATION_INTERVAL_SECONDS: '1' } });
    try {
      expect(t.app.get(SchedulerRegistry).getIntervals()).not.toContain('approval-escalation');
    } finally {
      await t.close();
    }
  });
});
