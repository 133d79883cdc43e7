import { startTestApp, type TestApp } from '../support/test-app.js';
import { createApproval, eventsFor, streamEvents } from './helpers.js';

type Caller = { token: string; workspaceId: string; tokenId: string };

describe('decisions', () => {
  let t: TestApp;
  let admin: Caller;
  let owner: Caller;
  let member: Caller;
  let stranger: Caller;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.token('decide', 'admin');
    owner = await t.token('decide', 'owner');
    member = await t.token('decide', 'member');
    stranger = await t.token('elsewhere', 'owner');
  });
  afterAll(() => t.close());

  const pending = () => createApproval(t, member.token, { confidenceScore: 40 });

  it('approve: records who, when and notes, publishes approval.item.approved', async () => {
    const item = await pending();
    const res = await t.request('POST', `/approvals/${item.id}/approve`, { token: admin.token, body: { notes: 'ok' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: item.id, status: 'approved', resolvedById: admin.tokenId, resolution: { decision: 'approved', notes: 'ok' } });
    expect(Date.parse(res.body.resolvedAt)).toBeGreaterThanOrEqual(Date.parse(item.createdAt));
    const events = eventsFor(await streamEvents(t), item.id);
    expect(events.map((e) => e.type)).toEqual(['approval.item.created', 'approval.item.approved']);
    expect(events[1]).toMatchObject({ userId: admin.tokenId, tenantId: admin.workspaceId, data: { status: 'approved', resolvedById: admin.tokenId } });
  });

  it('approve works without a body', async () => {
    const item = await pending();
    const res = await t.request('POST', `/approvals/${item.id}/approve`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body.resolution).toEqual({ decision: 'approved' });
  });

  it('reject: needs a reason, records it, publishes approval.item.rejected', async () => {
    const item = await pending();
    for (const body of [undefined, {}, { reason: '   ' }, { reason: 5 }]) {
      const bad = await t.request('POST', `/approvals/${item.id}/reject`, { token: admin.token, body });
      expect(bad.status).toBe(400);
      expect(bad.body.message.join(' ')).toMatch(/reason/);
    }
    const res = await t.request('POST', `/approvals/${item.id}/reject`, { token: admin.token, body: { reason: 'off-brand' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'rejected', resolution: { decision: 'rejected', reason: 'off-brand' } });
    const events = eventsFor(await streamEvents(t), item.id);
    expect(events.at(-1)).toMatchObject({ type: 'approval.item.rejected', data: { resolution: { reason: 'off-brand' } } });
  });

  it('cancel (DELETE): the item stays readable as cancelled, publishes approval.item.cancelled', async () => {
    const item = await pending();
    const res = await t.request('DELETE', `/approvals/${item.id}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'cancelled', resolvedById: admin.tokenId });
    expect((await t.request('GET', `/approvals/${item.id}`, { token: member.token })).body.status).toBe('cancelled');
    expect(eventsFor(await streamEvents(t), item.id).at(-1)!.type).toBe('approval.item.cancelled');
  });

  it('an escalated item can still be decided', async () => {
    const item = await pending();
    await t.pool.query(`UPDATE approval_items SET status = 'escalated', escalated_at = now() WHERE id = $1`, [item.id]);
    const res = await t.request('POST', `/approvals/${item.id}/approve`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'approved' });
    expect(res.body.escalatedAt).not.toBeNull();
  });

  it('a second decision answers 409 naming the current status and changes nothing', async () => {
    const item = await pending();
    expect((await t.request('POST', `/approvals/${item.id}/approve`, { token: admin.token })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', `/approvals/${item.id}/approve`, undefined],
      ['POST', `/approvals/${item.id}/reject`, { reason: 'late' }],
      ['DELETE', `/approvals/${item.id}`, undefined],
    ] as const) {
      const again = await t.request(method, path, { token: owner.token, body });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ status: 'approved' });
      expect(again.body.message).toMatch(/already approved/);
    }
    const current = await t.request('GET', `/approvals/${item.id}`, { token: member.token });
    expect(current.body).toMatchObject({ status: 'approved', resolvedById: admin.tokenId });
    expect(eventsFor(await streamEvents(t), item.id).map((e) => e.type)).toEqual(['approval.item.created', 'approval.item.approved']);
  });

  it('auto-approved items cannot be decided (409)', async () => {
    const item = await createApproval(t, member.token, { confidenceScore: 99 });
    expect(item.status).toBe('auto_approved');
    expect((await t.request('POST', `/approvals/${item.id}/reject`, { token: admin.token, body: { reason: 'no' } })).status).toBe(409);
  });

  it('concurrent decisions on one item: exactly one wins, the rest answer 409, one event', async () => {
    const item = await pending();
    const tokens = [admin, owner];
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? t.request('POST', `/approvals/${item.id}/approve`, { token: tokens[i % 4 < 2 ? 0 : 1]!.token })
          : t.request('POST', `/approvals/${item.id}/reject`, { token: tokens[i % 4 < 2 ? 0 : 1]!.token, body: { reason: `r${i}` } }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(409)]);
    const winner = responses.find((r) => r.status === 200)!.body;
    const stored = await t.pool.query(`SELECT status, resolved_by_id, resolution FROM approval_items WHERE id = $1`, [item.id]);
    expect(stored.rows[0]).toMatchObject({ status: winner.status, resolved_by_id: winner.resolvedById });
    const decisions = eventsFor(await streamEvents(t), item.id).filter((e) => e.type !== 'approval.item.created');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.type).toBe(`approval.item.${winner.status}`);
  });

  it('members cannot decide (403); any role can read', async () => {
    const item = await pending();
    expect((await t.request('POST', `/approvals/${item.id}/approve`, { token: member.token })).status).toBe(403);
    expect((await t.request('POST', `/approvals/${item.id}/reject`, { token: member.token, body: { reason: 'x' } })).status).toBe(403);
    expect((await t.request('DELETE', `/approvals/${item.id}`, { token: member.token })).status).toBe(403);
    const bulk = await t.request('POST', '/approvals/bulk', { token: member.token, body: { ids: [item.id], action: 'approve' } });
    expect(bulk.status).toBe(403);
    expect((await t.request('GET', `/approvals/${item.id}`, { token: member.token })).body.status).toBe('pending');
  });

  it("another workspace's item answers 404 to every route, and stays untouched", async () => {
    const item = await pending();
    const token = stranger.token;
    expect((await t.request('GET', `/approvals/${item.id}`, { token })).status).toBe(404);
    expect((await t.request('POST', `/approvals/${item.id}/approve`, { token })).status).toBe(404);
    expect((await t.request('POST', `/approvals/${item.id}/reject`, { token, body: { reason: 'x' } })).status).toBe(404);
    expect((await t.request('DELETE', `/approvals/${item.id}`, { token })).status).toBe(404);
    const bulk = await t.request('POST', '/approvals/bulk', { token, body: { ids: [item.id], action: 'cancel' } });
    expect(bulk.body.results).toEqual([{ id: item.id, outcome: 'not_found', statusCode: 404, message: `Approval ${item.id} not found` }]);
    const list = await t.request('GET', '/approvals', { token });
    expect(list.body.items.map((i: { id: string }) => i.id)).not.toContain(item.id);
    expect((await t.request('GET', `/approvals/${item.id}`, { token: member.token })).body.status).toBe('pending');
  });

  it('unknown and malformed ids: 404 and 400, never 500', async () => {
    const missing = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    expect((await t.request('GET', `/approvals/${missing}`, { token: member.token })).status).toBe(404);
    expect((await t.request('POST', `/approvals/${missing}/approve`, { token: admin.token })).status).toBe(404);
    for (const bad of ['nope', '123', `${missing}x`, "1' OR '1'='1"]) {
      const res = await t.request('GET', `/approvals/${encodeURIComponent(bad)}`, { token: member.token });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual(['id must be a UUID']);
      expect((await t.request('POST', `/approvals/${encodeURIComponent(bad)}/approve`, { token: admin.token })).status).toBe(400);
    }
  });

  it('bulk: a result per id in request order (decided, conflict, not found), one event per decided item', async () => {
    const [a, b, c] = [await pending(), await pending(), await pending()];
    await t.request('POST', `/approvals/${b.id}/reject`, { token: admin.token, body: { reason: 'earlier' } });
    const foreign = await createApproval(t, stranger.token, { confidenceScore: 10 });
    const missing = '3f2504e0-4f89-41d3-9a0c-0305e82c3302';
    const res = await t.request('POST', '/approvals/bulk', {
      token: admin.token,
      body: { ids: [c.id, b.id, missing, a.id, foreign.id], action: 'approve', notes: 'batch' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decided: 2, failed: 3 });
    expect(res.body.results.map((r: { id: string; outcome: string; statusCode: number; status?: string }) => [r.id, r.outcome, r.statusCode, r.status])).toEqual([
      [c.id, 'decided', 200, 'approved'],
      [b.id, 'conflict', 409, 'rejected'],
      [missing, 'not_found', 404, undefined],
      [a.id, 'decided', 200, 'approved'],
      [foreign.id, 'not_found', 404, undefined],
    ]);
    expect(res.body.results[0].item).toMatchObject({ resolution: { decision: 'approved', notes: 'batch' }, resolvedById: admin.tokenId });
    const events = await streamEvents(t, 'approval.item.approved');
    expect(eventsFor(events, a.id)).toHaveLength(1);
    expect(eventsFor(events, c.id)).toHaveLength(1);
    expect(eventsFor(events, foreign.id)).toHaveLength(0);
    expect((await t.request('GET', `/approvals/${foreign.id}`, { token: stranger.token })).body.status).toBe('pending');
  });

  it('bulk reject and cancel', async () => {
    const [a, b] = [await pending(), await pending()];
    const rejected = await t.request('POST', '/approvals/bulk', { token: owner.token, body: { ids: [a.id], action: 'reject', reason: 'dup' } });
    expect(rejected.body.results[0]).toMatchObject({ outcome: 'decided', status: 'rejected', item: { resolution: { reason: 'dup' } } });
    const cancelled = await t.request('POST', '/approvals/bulk', { token: owner.token, body: { ids: [b.id, a.id], action: 'cancel' } });
    expect(cancelled.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['decided', 'conflict']);
    expect(eventsFor(await streamEvents(t, 'approval.item.cancelled'), b.id)).toHaveLength(1);
  });

  it('bulk validation: 400 naming the field', async () => {
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3303';
    const cases: [unknown, RegExp][] = [
      [{ ids: [id], action: 'reject' }, /^reason must be a string$/],
      [{ ids: [id], action: 'reject', reason: '' }, /^reason must not be empty$/],
      [{ ids: [], action: 'approve' }, /^ids must contain at least 1 elements$/],
      [{ ids: Array.from({ length: 101 }, () => crypto.randomUUID()), action: 'approve' }, /^ids must contain no more than 100 elements$/],
      [{ ids: [id, id], action: 'approve' }, /^All ids's elements must be unique$/],
      [{ ids: ['nope'], action: 'approve' }, /^each value in ids must be a UUID$/],
      [{ ids: [id], action: 'archive' }, /^action must be one of the following values/],
    ];
    for (const [body, message] of cases) {
      const res = await t.request('POST', '/approvals/bulk', { token: admin.token, body });
      expect(res.status).toBe(400);
      expect(res.body.message.some((m: string) => message.test(m)), JSON.stringify(res.body.message)).toBe(true);
    }
  });

  it('bulk: concurrent bulk decisions over overlapping ids decide each item once', async () => {
    const items = await Promise.all(Array.from({ length: 6 }, () => pending()));
    const ids = items.map((i) => i.id);
    const [first, second] = await Promise.all([
      t.request('POST', '/approvals/bulk', { token: admin.token, body: { ids, action: 'approve' } }),
      t.request('POST', '/approvals/bulk', { token: owner.token, body: { ids: [...ids].reverse(), action: 'reject', reason: 'race' } }),
    ]);
    expect(first.body.decided + second.body.decided).toBe(6);
    const events = (await streamEvents(t)).filter((e) => ids.includes(e.data.approvalId as string) && e.type !== 'approval.item.created');
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.data.approvalId)).size).toBe(6);
  });
});
