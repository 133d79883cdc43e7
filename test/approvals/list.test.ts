import { startTestApp, type TestApp } from '../support/test-app.js';
import { createApproval } from './helpers.js';

type Item = { id: string; createdAt: string; dueAt: string; confidenceScore: number; status: string; priority: string };

describe('GET /approvals', () => {
  let t: TestApp;
  let token: string;
  let items: Item[];
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await t.token('listing', 'admin'));
    const priorities = ['low', 'medium', 'high', 'urgent'];
    items = [];
    for (let i = 0; i < 23; i++) {
      items.push(
        await createApproval(t, token, {
          type: i % 3 === 0 ? 'email.send' : 'content.publish',
          confidenceScore: (i * 7) % 85, // all pending; several share a score
          priority: priorities[i % 4],
          assignedToId: i % 5 === 0 ? 'reviewer-1' : undefined,
        }),
      );
    }
    // Ties on the sort key: the id breaks them, so these must still page without repeats or gaps.
    await t.pool.query(`UPDATE approval_items SET created_at = '2030-01-01T00:00:00.000001Z' WHERE id = ANY($1)`, [
      items.slice(0, 4).map((i) => i.id),
    ]);
    const other = await t.token('other-listing', 'admin');
    await createApproval(t, other.token);
  });
  afterAll(() => t.close());

  async function all(query: string, limit: number): Promise<Item[]> {
    const seen: Item[] = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await t.request('GET', `/approvals?${query}&limit=${limit}${suffix}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    return seen;
  }

  it('defaults: newest first, 20 per page, with a cursor to the rest', async () => {
    const res = await t.request('GET', '/approvals', { token });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(20);
    expect(typeof res.body.nextCursor).toBe('string');
    const rest = await t.request('GET', `/approvals?cursor=${res.body.nextCursor}`, { token });
    expect(rest.body.items).toHaveLength(3);
    expect(rest.body.nextCursor).toBeNull();
  });

  for (const sortBy of ['createdAt', 'dueAt', 'confidenceScore'] as const) {
    for (const order of ['asc', 'desc'] as const) {
      it(`sortBy=${sortBy}&order=${order} pages through every item once, in order`, async () => {
        const seen = await all(`sortBy=${sortBy}&order=${order}`, 4);
        expect(seen.map((i) => i.id).sort()).toEqual(items.map((i) => i.id).sort());
        const key = (i: Item) => (sortBy === 'confidenceScore' ? i.confidenceScore : Date.parse(i[sortBy]));
        for (let k = 1; k < seen.length; k++) {
          const [a, b] = [key(seen[k - 1]!), key(seen[k]!)];
          expect(order === 'asc' ? a <= b : a >= b).toBe(true);
        }
      });
    }
  }

  it('filters by status, type, priority and assignedToId', async () => {
    const byType = await all('type=email.send', 100);
    expect(byType.map((i) => i.id).sort()).toEqual(items.filter((_, i) => i % 3 === 0).map((i) => i.id).sort());
    const byPriority = await all('priority=urgent', 100);
    expect(byPriority.every((i) => i.priority === 'urgent')).toBe(true);
    expect(byPriority).toHaveLength(items.filter((i) => i.priority === 'urgent').length);
    const assigned = await all('assignedToId=reviewer-1', 100);
    expect(assigned.map((i) => i.id).sort()).toEqual(items.filter((_, i) => i % 5 === 0).map((i) => i.id).sort());
    const approvedFirst = items[1]!;
    await t.request('POST', `/approvals/${approvedFirst.id}/approve`, { token });
    const approved = await all('status=approved', 100);
    expect(approved.map((i) => i.id)).toEqual([approvedFirst.id]);
    const combined = await all('status=pending&type=email.send&priority=low', 100);
    expect(combined.every((i) => i.status === 'pending' && i.priority === 'low')).toBe(true);
    await t.pool.query(`UPDATE approval_items SET status = 'pending', resolved_at = NULL WHERE id = $1`, [approvedFirst.id]);
  });

  it('is stable under inserts: items created between pages neither repeat nor hide existing ones', async () => {
    const first = await t.request('GET', '/approvals?sortBy=createdAt&order=desc&limit=5', { token });
    const fresh = [await createApproval(t, token), await createApproval(t, token)];
    const seen = [...first.body.items];
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const page: { status: number; body: { items: Item[]; nextCursor: string | null } } = await t.request(
        'GET',
        `/approvals?sortBy=createdAt&order=desc&limit=5&cursor=${cursor}`,
        { token },
      );
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      if (seen.length === 10) fresh.push(await createApproval(t, token));
    }
    const ids = seen.map((i: Item) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(items.map((i) => i.id).sort());
    // Newest-first paging never reaches items created after it started.
    for (const item of fresh) expect(ids).not.toContain(item.id);
    await t.pool.query(`DELETE FROM approval_items WHERE id = ANY($1)`, [fresh.map((i) => i.id)]);
  });

  it('answers 400 naming the parameter for bad queries and cursors', async () => {
    const first = await t.request('GET', '/approvals?limit=2&sortBy=dueAt&order=asc', { token });
    const cases: [string, RegExp][] = [
      ['limit=101', /^limit must not be greater than 100$/],
      ['limit=0', /^limit must not be less than 1$/],
      ['limit=ten', /^limit must be an integer number$/],
      ['sortBy=title', /^sortBy must be one of the following values/],
      ['order=up', /^order must be one of the following values/],
      ['status=open', /^status must be one of the following values/],
      ['priority=critical', /^priority must be one of the following values/],
      ['unknown=1', /^property unknown should not exist$/],
      ['cursor=not-a-cursor', /^cursor is malformed/],
      [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, /^cursor is malformed/],
      [`sortBy=dueAt&order=asc&cursor=${Buffer.from('["dueAt","asc","yesterday","x"]').toString('base64url')}`, /^cursor is malformed/],
      [`cursor=${first.body.nextCursor}`, /^cursor was issued for sortBy=dueAt&order=asc/],
      // Well-shaped but impossible values must not reach the SQL casts (they would fail there with a 500).
      ...['2026-13-01T00:00:00.000000Z', '2026-01-01T24:00:00.000000Z', '0000-01-01T00:00:00.000000Z'].map(
        (value): [string, RegExp] => [
          `sortBy=dueAt&order=asc&cursor=${Buffer.from(JSON.stringify(['dueAt', 'asc', value, items[0]!.id])).toString('base64url')}`,
          /^cursor is malformed/,
        ],
      ),
      [
        `sortBy=confidenceScore&order=asc&cursor=${Buffer.from(JSON.stringify(['confidenceScore', 'asc', '9999999999', items[0]!.id])).toString('base64url')}`,
        /^cursor is malformed/,
      ],
      [`sortBy=dueAt&order=desc&cursor=${first.body.nextCursor}`, /^cursor was issued for sortBy=dueAt&order=asc/],
    ];
    for (const [query, message] of cases) {
      const res = await t.request('GET', `/approvals?${query}`, { token });
      expect(res.status, query).toBe(400);
      expect(res.body.message.some((m: string) => message.test(m)), `${query}: ${JSON.stringify(res.body.message)}`).toBe(true);
    }
    expect((await t.request('GET', `/approvals?sortBy=dueAt&order=asc&cursor=${first.body.nextCursor}`, { token })).status).toBe(200);
  });

  it('lists only the caller workspace', async () => {
    const { token: otherToken } = await t.token('other-listing', 'member');
    const res = await t.request('GET', '/approvals?limit=100', { token: otherToken });
    expect(res.body.items).toHaveLength(1);
  });
});
