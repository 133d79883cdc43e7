import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { freePort } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { ProbeModule } from './probe.controller.js';

async function scrape(t: TestApp): Promise<Exposition> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

function requests(m: Exposition, method: string, route: string, status: number): number {
  return m.value('http_requests_total', { method, route, status_code: String(status) }) ?? 0;
}

describe('HTTP and connection metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ extraModules: [ProbeModule] });
  });
  afterAll(() => t.close());

  it('serves the exposition with the exact content type, no-store, and gzip on request', async () => {
    const plain = await fetch(`${t.url}/metrics`);
    expect(plain.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('no-store');
    const text = await plain.text();

    const zipped = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      httpRequest(`${t.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect(zipped.encoding).toBe('gzip');
    expect(gunzipSync(zipped.body).toString()).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
  });

  it('declares every HTTP metric with HELP and the right type', async () => {
    await t.request('GET', '/probe/ok/1');
    const m = await scrape(t);
    expect(m.types.get('http_request_duration_seconds')).toBe('histogram');
    expect(m.types.get('http_requests_total')).toBe('counter');
    expect(m.types.get('http_requests_in_flight')).toBe('gauge');
    expect(m.types.get('http_active_connections')).toBe('gauge');
    expect(m.types.get('http_connections_total')).toBe('counter');
    for (const name of ['http_request_duration_seconds', 'http_requests_total', 'http_requests_in_flight']) {
      expect(m.help.get(name)?.length).toBeGreaterThan(10);
    }
    const buckets = m
      .series('http_request_duration_seconds_bucket')
      .filter((s) => s.labels.route === '/probe/ok/:id')
      .map((s) => s.labels.le);
    expect(buckets).toEqual(['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '+Inf']);
  });

  it('counts each status under its route template, and unmatched routes as "unmatched"', async () => {
    const before = await scrape(t);
    const { token: member } = await t.token('acme', 'member');
    await t.request('GET', '/probe/ok/123');
    await t.request('GET', '/probe/ok/456');
    await t.request('GET', '/probe/number/abc'); // 400 from a pipe
    await t.request('POST', '/probe/ok/1', { body: '{"broken":' }); // 400 from the body parser, before routing
    await t.request('GET', '/probe/owner-only'); // 401 from the guard
    await t.request('GET', '/probe/owner-only', { token: member }); // 403 from the guard
    await t.request('GET', '/probe/forbidden'); // 403 thrown by the handler
    await t.request('GET', '/no/such/route/42'); // 404
    await t.request('GET', '/probe/boom'); // 500
    const after = await scrape(t);
    const delta = (method: string, route: string, status: number) =>
      requests(after, method, route, status) - requests(before, method, route, status);

    expect(delta('GET', '/probe/ok/:id', 200)).toBe(2);
    expect(delta('GET', '/probe/number/:n', 400)).toBe(1);
    expect(delta('POST', 'unmatched', 400)).toBe(1);
    expect(delta('GET', '/probe/owner-only', 401)).toBe(1);
    expect(delta('GET', '/probe/owner-only', 403)).toBe(1);
    expect(delta('GET', '/probe/forbidden', 403)).toBe(1);
    expect(delta('GET', 'unmatched', 404)).toBe(1);
    expect(delta('GET', '/probe/boom', 500)).toBe(1);
    const histogramCount = (route: string, status: string) =>
      after.value('http_request_duration_seconds_count', { method: 'GET', route, status_code: status });
    expect(histogramCount('/probe/boom', '500')).toBe(requests(after, 'GET', '/probe/boom', 500));
    expect(after.samples.some((s) => JSON.stringify(s.labels).includes('/no/such'))).toBe(false);
    expect(after.samples.some((s) => s.labels.route === '/probe/ok/123')).toBe(false);
  });

  it('does not count /metrics itself', async () => {
    await scrape(t);
    await scrape(t);
    const m = await scrape(t);
    expect(m.samples.some((s) => s.name.startsWith('http_request') && s.labels.route?.includes('metrics'))).toBe(false);
  });

  it('records a request the client aborted (status 499) and brings in-flight back to 0', async () => {
    const before = await scrape(t);
    const aborted = new Promise<void>((resolve) => {
      const req = httpRequest(`${t.url}/probe/slow/2000`);
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 200);
    });
    await vi.waitFor(async () => expect((await scrape(t)).value('http_requests_in_flight')).toBe(1), { timeout: 2000 });
    await aborted;
    await vi.waitFor(
      async () => {
        const m = await scrape(t);
        expect(requests(m, 'GET', '/probe/slow/:ms', 499) - requests(before, 'GET', '/probe/slow/:ms', 499)).toBe(1);
        expect(m.value('http_requests_in_flight')).toBe(0);
      },
      { timeout: 5000 },
    );
  });

  it('10,000 requests to random unknown URLs add no series', async () => {
    const methods = ['GET', 'POST', 'DELETE', 'PATCH'];
    // One request per method first: the unmatched series of each method may appear once, and only once.
    for (const method of methods) await t.request(method, '/warm/up');
    const before = await scrape(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const send = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const path = `/${Math.random().toString(36).slice(2)}/${i}?q=${i}`;
        httpRequest(`${t.url}${path}`, { agent, method: methods[i % methods.length] }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
    for (let i = 0; i < 10_000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => send(i + j)));
    }
    agent.destroy();
    const after = await scrape(t);
    const keys = (m: Exposition) => new Set(m.samples.filter((s) => s.name.startsWith('http_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`));
    expect([...keys(after)].filter((k) => !keys(before).has(k))).toEqual([]);
    const unmatched = methods.reduce((sum, method) => sum + requests(after, method, 'unmatched', 404) - requests(before, method, 'unmatched', 404), 0);
    expect(unmatched).toBe(10_000);
  });

  it('follows open TCP connections, idle keep-alive sockets included', async () => {
    const server = t.app.getHttpServer();
    const openConnections = () => new Promise<number>((resolve, reject) => server.getConnections((e: Error | null, n: number) => (e ? reject(e) : resolve(n))));
    // Let sockets of earlier tests finish closing.
    await vi.waitFor(async () => expect((await scrape(t)).value('http_active_connections')).toBe(await openConnections()), { timeout: 5000 });
    const baseline = (await scrape(t)).value('http_active_connections')!;
    const baselineTotal = (await scrape(t)).value('http_connections_total')!;

    const sockets: Socket[] = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<Socket>((resolve) => {
        const socket = connect(Number(new URL(t.url).port), '127.0.0.1', () => {
          socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
          socket.once('data', () => resolve(socket));
        });
      })),
    );
    const during = await scrape(t);
    expect(during.value('http_active_connections')).toBe(baseline + 5);
    expect(during.value('http_active_connections')).toBe(await openConnections());
    expect(during.value('http_connections_total')! - baselineTotal).toBeGreaterThanOrEqual(5);

    await Promise.all(sockets.map((s) => new Promise((resolve) => { s.once('close', resolve); s.destroy(); })));
    await vi.waitFor(async () => expect((await scrape(t)).value('http_active_connections')).toBe(baseline), { timeout: 5000 });
  });

  it('passes promtool check metrics (except prom-client\'s nodejs_*_total gauges)', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    let output = '';
    try {
      output = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const problems = output.split('\n').filter((line) => line.trim() && !/^nodejs_\w+_total non-counter metrics should not have "_total" suffix/.test(line.trim()));
    expect(problems).toEqual([]);
  });
});

describe('/metrics protection and placement', () => {
  it('requires the bearer METRICS_TOKEN when set', async () => {
    const token = 'metrics-secret-token-1234';
    const t = await startTestApp({ env: { METRICS_TOKEN: token } });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-same-size' } })).status).toBe(401);
      const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).not.toContain(token);
    } finally {
      await t.close();
    }
  });

  it('serves /metrics only on METRICS_PORT when set', async () => {
    const port = await freePort();
    const t = await startTestApp({ env: { METRICS_PORT: String(port) } });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
      const separate = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(separate.status).toBe(200);
      expect(separate.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  it('METRICS_HTTP_ENABLED=false leaves HTTP request metrics out', async () => {
    const t = await startTestApp({ env: { METRICS_HTTP_ENABLED: 'false' } });
    try {
      await t.request('GET', '/health/live');
      const m = parseExposition(await (await fetch(`${t.url}/metrics`)).text());
      expect(m.types.has('http_requests_total')).toBe(false);
      expect(m.types.has('http_active_connections')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('two applications in one process each have their own registry', async () => {
    const [a, b] = await Promise.all([startTestApp(), startTestApp()]);
    try {
      await a.request('GET', '/health/live');
      const ma = parseExposition(await (await fetch(`${a.url}/metrics`)).text());
      const mb = parseExposition(await (await fetch(`${b.url}/metrics`)).text());
      expect(ma.value('http_requests_total', { route: '/health/live', status_code: '200' })).toBe(1);
      expect(mb.value('http_requests_total', { route: '/health/live', status_code: '200' })).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
