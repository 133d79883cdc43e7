import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { APPROVAL_PRIORITIES, APPROVAL_STATUSES, AI_PROVIDERS, type Role } from '../../src/db/schema.js';
import { EVENT_TYPE_PATTERN } from '../../src/events/event-envelope.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { busState, errorLines, hasMessage, leaked, tableChecksums } from './helpers.js';

/**
 * Property-based junk: every generated request is malformed by construction (bad JSON, wrong types, huge
 * bodies, unicode, out-of-range numbers, unknown enum values, missing or malformed tokens, traversal in ids).
 * Each must be a 4xx with a message, and nothing may be written. Fixed seed: a failure reproduces, and
 * fast-check shrinks it to the smallest failing request.
 */
const SEED = 20_261_204;
const RUNS = 1_200;
const BODY_LIMIT_BYTES = 256 * 1024;

type Body = Record<string, unknown>;
interface JunkRequest {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

type Kind = 'string' | 'int' | 'number01' | 'enum' | 'object' | 'factors' | 'uuids' | 'iso' | 'eventType' | 'apiKey' | 'model' | 'printable';
interface Field {
  name: string;
  kind: Kind;
  required: boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
}

interface BodyEndpoint {
  method: string;
  /** Filled in with a real id of the caller's workspace (the body is what is junk). */
  path: () => string;
  role: Role;
  valid: () => Body;
  fields: Field[];
}

const str = (name: string, required: boolean, min: number, max: number): Field => ({ name, kind: 'string', required, min, max });
const int = (name: string, required: boolean, min: number, max: number): Field => ({ name, kind: 'int', required, min, max });

// ---- invalid values, per kind (never null/undefined for optional fields: those mean "absent") ----
const nonString = fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
const nonInteger = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x));
const nonNumber = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.constant([]), fc.constant({}));
const unicodeJunk = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });

function invalidValue(field: Field): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [];
  switch (field.kind) {
    case 'string':
    case 'printable':
      options.push(nonString, fc.string({ maxLength: 5 }).map((s) => `${s}\u0000${s}`));
      if (field.max !== undefined) options.push(fc.integer({ min: 1, max: 50 }).map((n) => 'é'.repeat(field.max! + n)));
      if ((field.min ?? 0) >= 1) options.push(fc.constant(''));
      if (field.kind === 'printable') options.push(fc.constantFrom('with space', 'tab\there', 'ünïcödé', '日本語'));
      break;
    case 'apiKey':
      options.push(nonString, fc.string({ maxLength: 19 }), fc.constant('x'.repeat(501)), unicodeJunk.map((s) => `sk-${s}-ééééééééééééééééééééé`), fc.constant('sk-has spaces in the middle 0123'));
      break;
    case 'model':
      options.push(nonString, fc.constant(''), fc.constantFrom('-leading-dash', 'spaces are bad', '../../etc/passwd', 'x'.repeat(201)), unicodeJunk.map((s) => `m${s}ü`));
      break;
    case 'int':
      options.push(
        nonInteger,
        nonNumber,
        fc.integer({ min: -(2 ** 31), max: field.min! - 1 }),
        fc.integer({ min: field.max! + 1, max: 2 ** 31 }),
        fc.constantFrom(2 ** 53, -(2 ** 53), 1e308, -1e308, 2 ** 31, -(2 ** 31) - 1),
      );
      break;
    case 'number01':
      options.push(nonNumber, fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => x < 0 || x > 1));
      break;
    case 'enum':
      options.push(fc.string({ maxLength: 20 }).filter((s) => !field.values!.includes(s)), fc.integer(), fc.constant(['medium']), fc.constantFrom('MEDIUM', 'Medium ', ' urgent', '__proto__', 'toString'));
      break;
    case 'object':
      options.push(fc.array(fc.integer(), { maxLength: 3 }), fc.string(), fc.integer(), fc.boolean());
      if (field.max !== undefined) options.push(fc.constant({ blob: 'x'.repeat(field.max + 1) }));
      break;
    case 'factors':
      options.push(
        nonString,
        fc.constant([]),
        fc.constant(Array.from({ length: 21 }, () => ({ factor: 'f', score: 5, weight: 1 / 21, explanation: 'e' }))),
        fc.record({ factor: fc.constant('f'), score: fc.integer({ min: 0, max: 100 }), weight: fc.double({ min: 0, max: 0.5, noNaN: true }), explanation: fc.constant('e') }).map((f) => [f]),
        fc.record({ factor: nonString, score: fc.constant(5), weight: fc.constant(1), explanation: fc.constant('e') }).map((f) => [f]),
        fc.record({ factor: fc.constant('f'), score: nonInteger, weight: fc.constant(1), explanation: fc.constant('e') }).map((f) => [f]),
        fc.constant([null]),
        fc.constant(['factor']),
      );
      break;
    case 'uuids':
      options.push(
        nonString,
        fc.constant([]),
        fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 5 }).filter((ids) => ids.some((id) => !/^[0-9a-f-]{36}$/i.test(id))),
        fc.constant(Array.from({ length: 101 }, () => randomUUID())),
        fc.uuid().map((id) => [id, id]),
        fc.constant(['../../etc/passwd']),
      );
      break;
    case 'iso':
      options.push(nonString, fc.constantFrom('yesterday', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-01-01T25:00:00Z', '', '0000-00-00T00:00:00Z', '1e308'), fc.integer());
      break;
    case 'eventType':
      options.push(nonString, fc.string({ maxLength: 40 }).filter((s) => !EVENT_TYPE_PATTERN.test(s)), fc.constantFrom('A.B.C', 'a.b', 'a.b.c.d', 'a..c', '../x/y', 'a.b.c '));
      break;
  }
  if (field.required) options.push(fc.constant(null));
  return fc.oneof(...options);
}

// ---- what a junk body looks like: one field broken, a required one missing, or an unknown one added ----
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';
/** A well-formed token that was never issued. */
const UNKNOWN_TOKEN = `hyv_${'Q'.repeat(43)}`;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function junkBody(endpoint: BodyEndpoint): fc.Arbitrary<{ body: Body; note: string }> {
  const fieldNames = new Set(endpoint.fields.map((f) => f.name));
  const broken = fc.constantFrom(...endpoint.fields).chain((field) =>
    invalidValue(field).map((value) => ({ body: { ...endpoint.valid(), [field.name]: value }, note: `bad ${field.name}` })),
  );
  const extra = fc
    .tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !fieldNames.has(k) && !RESERVED_KEYS.has(k)), fc.jsonValue({ maxDepth: 2 }))
    .map(([key, value]) => ({ body: { ...endpoint.valid(), [key]: value }, note: `unknown ${key}` }));
  const required = endpoint.fields.filter((f) => f.required);
  const options = [broken, extra];
  if (required.length > 0) {
    options.push(
      fc.constantFrom(...required).map((field) => {
        const body = endpoint.valid();
        delete body[field.name];
        return { body, note: `missing ${field.name}` };
      }),
    );
  }
  return fc.oneof(...options);
}

const BAD_JSON = [
  '{',
  '{"a":}',
  "{'type':'x'}",
  '[1,2',
  'nul',
  '{"a":1,}',
  '{"a": 01}',
  'NaN',
  '{}x',
  '\u0000',
  '{"a":"\\x41"}',
  '{"a":"\\ud800"',
  'null',
  '"just a string"',
  '12345',
  'true',
  // Valid JSON whose number overflows to Infinity.
  '{"confidenceScore": 1e400, "type": "x", "title": "y"}',
];

describe('junk input', () => {
  let t: TestApp;
  const tokens = {} as Record<Role, string>;
  let approvalId: string;
  let providerId: string;
  let sent = 0;
  let cursorProbes = 0;
  const kinds = new Map<string, number>();
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    t = await startTestApp();
    for (const role of ['owner', 'admin', 'member'] as Role[]) tokens[role] = (await t.token('junk', role)).token;
    const approval = await t.request('POST', '/approvals', { token: tokens.member, body: { type: 'junk.test', title: 'seed', confidenceScore: 40 } });
    expect(approval.status).toBe(201);
    approvalId = approval.body.id;
    const provider = await t.request('POST', '/ai-providers', { token: tokens.admin, body: { provider: 'openai', apiKey: 'sk-junk-seed-key-0123456789' } });
    expect(provider.status).toBe(201);
    providerId = provider.body.id;
  });
  afterAll(() => t.close());

  function bodyEndpoints(): BodyEndpoint[] {
    const approval = (): Body => ({ type: 'junk.test', title: 'Junk', confidenceScore: 50 });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    return [
      {
        method: 'POST',
        path: () => '/approvals',
        role: 'member',
        valid: approval,
        fields: [
          str('type', true, 1, 128),
          str('title', true, 1, 500),
          str('description', false, 0, 10_000),
          int('confidenceScore', true, 0, 100),
          { name: 'confidenceFactors', kind: 'factors', required: false },
          str('aiRecommendation', false, 0, 10_000),
          { name: 'priority', kind: 'enum', required: false, values: APPROVAL_PRIORITIES },
          str('sourceModule', false, 1, 128),
          str('sourceId', false, 1, 128),
          str('assignedToId', false, 1, 128),
          { name: 'previewData', kind: 'object', required: false, max: 32 * 1024 },
        ],
      },
      { method: 'POST', path: () => `/approvals/${approvalId}/approve`, role: 'admin', valid: () => ({ notes: 'ok' }), fields: [str('notes', false, 0, 2000)] },
      { method: 'POST', path: () => `/approvals/${approvalId}/reject`, role: 'admin', valid: () => ({ reason: 'no' }), fields: [str('reason', true, 1, 2000)] },
      {
        method: 'POST',
        path: () => '/approvals/bulk',
        role: 'admin',
        valid: () => ({ ids: [approvalId], action: 'cancel' }),
        fields: [{ name: 'ids', kind: 'uuids', required: true }, { name: 'action', kind: 'enum', required: true, values: ['approve', 'reject', 'cancel'] }, str('notes', false, 0, 2000)],
      },
      {
        method: 'PUT',
        path: () => '/approvals/settings',
        role: 'owner',
        valid: () => ({ autoApproveThreshold: 90 }),
        fields: [int('autoApproveThreshold', false, 0, 100), int('quickReviewThreshold', false, 0, 100), int('approvalTimeoutHours', false, 1, 8760)],
      },
      {
        method: 'POST',
        path: () => '/ai-providers',
        role: 'admin',
        valid: () => ({ provider: 'claude', apiKey: 'sk-ant-junk-0123456789abcdef' }),
        fields: [{ name: 'provider', kind: 'enum', required: true, values: AI_PROVIDERS }, { name: 'apiKey', kind: 'apiKey', required: true }, { name: 'defaultModel', kind: 'model', required: false }],
      },
      {
        method: 'PATCH',
        path: () => `/ai-providers/${providerId}`,
        role: 'admin',
        valid: () => ({ defaultModel: 'gpt-4o' }),
        fields: [{ name: 'apiKey', kind: 'apiKey', required: false }, { name: 'defaultModel', kind: 'model', required: false }],
      },
      {
        method: 'POST',
        path: () => '/events',
        role: 'member',
        valid: () => ({ type: 'junk.item.created', data: { a: 1 } }),
        fields: [{ name: 'type', kind: 'eventType', required: true }, { name: 'data', kind: 'object', required: true, max: 64 * 1024 }, { name: 'correlationId', kind: 'printable', required: false, max: 128 }],
      },
      {
        method: 'POST',
        path: () => '/admin/events/replay',
        role: 'admin',
        valid: () => ({ startTime: new Date(Date.now() - 3_600_000).toISOString(), endTime: future }),
        fields: [{ name: 'startTime', kind: 'iso', required: true }, { name: 'endTime', kind: 'iso', required: true }],
      },
    ];
  }

  /** Routes that take an id, with the role allowed to call them (so only the id is wrong). */
  const ID_ROUTES: { method: string; path: (id: string) => string; role: Role; body?: Body }[] = [
    { method: 'GET', path: (id) => `/approvals/${id}`, role: 'member' },
    { method: 'POST', path: (id) => `/approvals/${id}/approve`, role: 'admin' },
    { method: 'POST', path: (id) => `/approvals/${id}/reject`, role: 'admin', body: { reason: 'no' } },
    { method: 'DELETE', path: (id) => `/approvals/${id}`, role: 'admin' },
    { method: 'GET', path: (id) => `/ai-providers/${id}`, role: 'member' },
    { method: 'PATCH', path: (id) => `/ai-providers/${id}`, role: 'admin', body: { defaultModel: 'x' } },
    { method: 'DELETE', path: (id) => `/ai-providers/${id}`, role: 'admin' },
    { method: 'POST', path: (id) => `/ai-providers/${id}/test`, role: 'admin' },
    { method: 'POST', path: (id) => `/admin/events/dlq/${id}/retry`, role: 'admin' },
    { method: 'DELETE', path: (id) => `/admin/events/dlq/${id}`, role: 'admin' },
    { method: 'GET', path: (id) => `/admin/events/replay/${id}`, role: 'admin' },
  ];

  const AUTH_ROUTES: [string, string][] = [
    ['GET', '/me'],
    ['GET', '/approvals'],
    ['POST', '/approvals'],
    ['GET', `/approvals/${NO_SUCH_ID}`],
    ['POST', '/approvals/bulk'],
    ['GET', '/approvals/settings'],
    ['PUT', '/approvals/settings'],
    ['GET', '/ai-providers'],
    ['POST', '/ai-providers'],
    ['DELETE', `/ai-providers/${NO_SUCH_ID}`],
    ['POST', '/events'],
    ['GET', '/admin/events/dlq'],
    ['GET', '/admin/events/stats'],
    ['POST', '/admin/events/replay'],
  ];

  function arbitraries(): fc.Arbitrary<JunkRequest>[] {
    const json = { 'content-type': 'application/json' };
    const auth = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` });
    const endpoints = bodyEndpoints();

    const fieldJunk = fc
      .constantFrom(...endpoints)
      .chain((endpoint) => junkBody(endpoint).map(({ body, note }) => ({ endpoint, body, note })))
      .map(({ endpoint, body, note }) => ({
        kind: `body: ${note}`,
        method: endpoint.method,
        path: endpoint.path(),
        headers: { ...json, ...auth(endpoint.role) },
        body: JSON.stringify(body),
      }));

    const writeRoutes = endpoints.map((e) => ({ method: e.method, path: e.path, role: e.role }));
    const badJson = fc
      .tuple(
        fc.constantFrom(...writeRoutes),
        fc.oneof(
          fc.constantFrom(...BAD_JSON),
          // A valid body cut short: never parses.
          fc.tuple(fc.constantFrom(...endpoints), fc.nat()).map(([e, n]) => {
            const text = JSON.stringify(e.valid());
            return text.slice(0, 1 + (n % (text.length - 1)));
          }),
        ),
      )
      .map(([route, body]) => ({ kind: 'bad JSON', method: route.method, path: route.path(), headers: { ...json, ...auth(route.role) }, body }));

    const huge = fc
      .tuple(fc.constantFrom(...writeRoutes), fc.integer({ min: 1, max: 64 * 1024 }), fc.boolean())
      .map(([route, extra, asJson]) => ({
        kind: 'huge body',
        method: route.method,
        path: route.path(),
        headers: { ...json, ...auth(route.role) },
        body: asJson ? JSON.stringify({ title: 'x'.repeat(BODY_LIMIT_BYTES + extra) }) : 'y'.repeat(BODY_LIMIT_BYTES + extra),
      }));

    const deep = fc.tuple(fc.constantFrom(...writeRoutes), fc.integer({ min: 33, max: 20_000 })).map(([route, depth]) => ({
      kind: 'deep nesting',
      method: route.method,
      path: route.path(),
      headers: { ...json, ...auth(route.role) },
      body: `{"previewData":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
    }));

    const junkIds = fc.oneof(
      fc.constantFrom('..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%5C..%5Cwindows', "'%20OR%201%3D1%20--", '%00', '%E0%A4%A', '%', 'null', 'undefined', '-1', '0', '1e308', 'NaN'),
      fc.string({ minLength: 1, maxLength: 300 }).map(encodeURIComponent),
      unicodeJunk.map(encodeURIComponent),
      fc.uuid().map((id) => id.toUpperCase()),
      fc.uuid(),
    );
    const idJunk = fc
      .tuple(fc.constantFrom(...ID_ROUTES), junkIds)
      // Dot segments and the fixed sub-routes are real routes, not ids.
      .filter(([, id]) => !/^(\.+|settings|bulk)$/i.test(safeDecode(id)))
      .map(([route, id]) => ({
        kind: 'junk id',
        method: route.method,
        path: route.path(id),
        headers: { ...json, ...auth(route.role) },
        body: route.body ? JSON.stringify(route.body) : undefined,
      }));

    const printableToken = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 200 });
    const badAuth = fc
      .tuple(
        fc.constantFrom(...AUTH_ROUTES),
        fc.oneof(
          fc.constant(undefined),
          fc.constantFrom('Bearer', 'Bearer ', 'bearer x', 'Basic dXNlcjpwYXNz', 'Token abc', `Bearer  ${'a'.repeat(10)}`, 'Bearer hyv_'),
          printableToken.map((s) => `Bearer ${s}`),
          printableToken.map((s) => `Bearer hyv_${s}`),
          fc.constant(`Bearer ${UNKNOWN_TOKEN}`),
          fc.constant(`Bearer ${'x'.repeat(4000)}`),
        ),
      )
      .filter(([, header]) => header === undefined || !Object.values(tokens).some((token) => header.endsWith(token)))
      .map(([[method, path], header]) => ({
        kind: 'bad token',
        method,
        path,
        headers: { ...json, ...(header === undefined ? {} : { authorization: header }) },
        body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
      }));

    const queryValue = fc.oneof(fc.string({ maxLength: 30 }), unicodeJunk, fc.constantFrom('-1', '0', '101', '1.5', '1e400', '0x10', '%00', '9'.repeat(30)));
    const approvalsQuery = fc
      .oneof(
        fc.tuple(fc.constant('status'), fc.string({ maxLength: 15 }).filter((s) => !(APPROVAL_STATUSES as readonly string[]).includes(s))),
        fc.tuple(fc.constant('priority'), fc.string({ maxLength: 15 }).filter((s) => !(APPROVAL_PRIORITIES as readonly string[]).includes(s))),
        fc.tuple(fc.constant('sortBy'), fc.string({ maxLength: 15 }).filter((s) => !['createdAt', 'dueAt', 'confidenceScore'].includes(s))),
        fc.tuple(fc.constant('order'), fc.string({ maxLength: 15 }).filter((s) => !['asc', 'desc'].includes(s))),
        fc.tuple(fc.constant('limit'), queryValue.filter((s) => !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 100)),
        fc.tuple(fc.constant('cursor'), fc.string({ minLength: 1, maxLength: 600 })),
        // Well-formed cursors (base64url JSON, the default ordering) around an impossible value.
        fc
          .tuple(fc.constantFrom('2024-13-45T25:61:61.000000Z', '0000-01-01T00:00:00.000000Z', '2024-02-30T24:00:00.000000Z', '9999999999', '-1', ''), fc.constantFrom(NO_SUCH_ID, 'not-a-uuid'))
          .map(([value, id]) => ['cursor', Buffer.from(JSON.stringify(['createdAt', 'desc', value, id])).toString('base64url')] as [string, string]),
        fc.tuple(fc.constant('type'), fc.constant('x'.repeat(129))),
        fc.tuple(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !['status', 'type', 'priority', 'assignedToId', 'sortBy', 'order', 'limit', 'cursor'].includes(k)), queryValue),
      )
      .map(([key, value]) => ({ kind: 'bad query', method: 'GET', path: `/approvals?${encodeURIComponent(key)}=${encodeURIComponent(value)}`, headers: auth('member') }));
    const dlqQuery = fc
      .oneof(
        fc.tuple(fc.constant('limit'), queryValue.filter((s) => !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 100)),
        fc.tuple(fc.constant('cursor'), fc.oneof(fc.string({ minLength: 1, maxLength: 50 }).filter((s) => !/^\d{1,20}-\d{1,20}$/.test(s)), fc.constant('99999999999999999999-1'))),
        fc.tuple(fc.constant('tenantId'), fc.string({ maxLength: 10 })),
      )
      .map(([key, value]) => ({ kind: 'bad query', method: 'GET', path: `/admin/events/dlq?${encodeURIComponent(key)}=${encodeURIComponent(value)}`, headers: auth('admin') }));
    const repeated = fc.constantFrom('limit', 'status', 'cursor', 'sortBy').map((key) => ({
      kind: 'repeated query key',
      method: 'GET',
      path: `/approvals?${key}=1&${key}=2`,
      headers: auth('member'),
    }));

    const contentType = fc
      .tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16'), fc.constantFrom(...endpoints.filter((e) => e.fields.some((f) => f.required))))
      .map(([type, endpoint]) => ({
        kind: `content-type ${type}`,
        method: endpoint.method,
        path: endpoint.path(),
        headers: { 'content-type': type, ...auth(endpoint.role) },
        body: 'type=x&title=y',
      }));

    // Routes exist, but not with these methods.
    const wrongMethod = fc
      .tuple(fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'SEARCH'), fc.constantFrom('/me', '/approvals/bulk', '/events', '/admin/events/stats', '/health/live', '/metrics'))
      .map(([method, path]) => ({ kind: 'wrong method', method, path, headers: auth('owner') }));

    return [fieldJunk, fieldJunk, fieldJunk, badJson, huge, deep, idJunk, idJunk, badAuth, approvalsQuery, dlqQuery, repeated, contentType, wrongMethod];
  }

  it(`answers ≥ 1,000 malformed requests across every endpoint with a 4xx and a message, writing nothing`, async () => {
    const before = { tables: await tableChecksums(t.pool), bus: await busState(t.redis, t.prefix) };
    const logLinesBefore = t.logs.lines.length;

    await fc.assert(
      fc.asyncProperty(fc.oneof(...arbitraries()), async (request) => {
        const response = await fetch(t.url + request.path, { method: request.method, headers: request.headers, body: request.body });
        const text = await response.text();
        sent++;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        if (request.path.includes('cursor=WyJ')) cursorProbes++;
        const kind = request.kind.split(':')[0]!.replace(/^content-type .*/, 'content-type');
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        const context = `${request.kind}: ${request.method} ${request.path.slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, context).toBeGreaterThanOrEqual(400);
        expect(response.status, context).toBeLessThan(500);
        expect(hasMessage(body), context).toBe(true);
        expect(text, context).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );

    expect(sent).toBeGreaterThanOrEqual(1000);
    // Every kind of junk was sent, more than a token number of times.
    for (const kind of ['body', 'bad JSON', 'huge body', 'deep nesting', 'junk id', 'bad token', 'bad query', 'repeated query key', 'content-type', 'wrong method']) {
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThanOrEqual(10);
    }
    // Nothing was written: every table and the bus are exactly as before.
    expect(await tableChecksums(t.pool)).toEqual(before.tables);
    expect(await busState(t.redis, t.prefix)).toEqual(before.bus);
    // No request reached the "unhandled error" path, and the app is still healthy.
    expect(errorLines(t.logs.lines.slice(logLinesBefore))).toEqual([]);
    expect(leaked(t.logs.text, Object.values(tokens))).toEqual([]);
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
    const me = await t.request('GET', '/me', { token: tokens.member });
    expect(me.status).toBe(200);
    console.info(
      `junk input: ${sent} requests (${cursorProbes} crafted cursors), kinds ${JSON.stringify(Object.fromEntries(kinds))}, ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
  }, 120_000);
});
