#!/usr/bin/env node
// Soak: mixed traffic at the machine's capacity against the built API (dist/main.js) for a fixed time, then a
// verdict. Not part of `npm test`. Needs `npm run build` first, and PostgreSQL + Redis (as for the tests).
//
//   node bench/soak.mjs                     # 60 s, 64 concurrent keep-alive clients
//   node bench/soak.mjs --seconds 300 --concurrency 128
//
// Environment: TEST_DATABASE_URL (server URL, default postgres://postgres@127.0.0.1:5432), REDIS_URL (default
// redis://127.0.0.1:6379). It creates its own database and Redis key prefix and removes both at the end.
//
// Traffic: reads (/me, /approvals, /approvals/:id, /ai-providers, /approvals/settings), writes (POST
// /approvals, approve, POST /events), junk (malformed bodies, unknown routes, bad tokens: expected 4xx), and a
// /metrics scrape plus /health/ready every second. The app's consumer processes the events meanwhile.
//
// Verdict (exit 1 when any bound is exceeded):
//   - errors: every answer must be the expected one (5xx, network errors and unexpected 4xx count) → 0 allowed
//   - retained heap growth (heap used after a forced full GC, after warm-up vs at the end) ≤ 32 MiB
//   - RSS growth (after warm-up vs at the end) ≤ 200 MiB (V8 keeps grown heap; the heap bound is the real one)
//   - lost events: once traffic stops, every published event must reach COMPLETED within 60 s → 0 allowed
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN_JS = join(ROOT, 'dist/main.js');
const CLI_JS = join(ROOT, 'dist/cli.js');

const BOUNDS = { errors: 0, retainedHeapGrowthMiB: 32, rssGrowthMiB: 200, lostEvents: 0 };
const WARM_UP_SECONDS = 10;
const SAMPLE_EVERY_MS = 1000;
const DRAIN_TIMEOUT_MS = 60_000;
const MIB = 2 ** 20;

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, concurrency: { type: 'string', default: '64' } },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const log = (message) => process.stderr.write(`[soak] ${message}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function run(command, commandArgs, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${commandArgs.join(' ')} exited ${code}: ${err}`))));
  });
}

// ---- HTTP with keep-alive sockets and no body parsing beyond what the check needs ----
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
let base;

function send(method, path, { token, body, contentType = 'application/json' } = {}) {
  return new Promise((resolve) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] = contentType;
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const started = performance.now();
    const req = http.request(`${base}${path}`, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
    });
    req.on('error', (error) => resolve({ status: 0, text: String(error), ms: performance.now() - started }));
    req.setTimeout(30_000, () => req.destroy(new Error('timeout after 30 s')));
    req.end(payload);
  });
}

const scrapeValue = (text, name) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
};

async function main() {
  if (!existsSync(MAIN_JS)) throw new Error('dist/ is missing: run `npm run build` first');
  const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const database = `hyvve_soak_${runId}`;
  const databaseUrl = `${SERVER_URL}/${database}`;
  const prefix = `soak${runId}`;
  const gcPreload = join(tmpdir(), `hyvve-soak-gc-${runId}.cjs`);
  writeFileSync(gcPreload, "process.on('SIGUSR2', () => { global.gc(); global.gc(); });\n");
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  let app;
  let verdict = 1;
  try {
    log(`database ${database}, Redis prefix ${prefix}`);
    await run(process.execPath, [CLI_JS, 'db', 'migrate'], { DATABASE_URL: databaseUrl });
    const token = async (role) => run(process.execPath, [CLI_JS, 'token', 'create', '--workspace', 'soak', '--role', role], { DATABASE_URL: databaseUrl });
    const tokens = { owner: await token('owner'), admin: await token('admin'), member: await token('member') };

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    let appOutput = '';
    app = spawn(process.execPath, [MAIN_JS], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex'),
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        REDIS_URL,
        EVENT_BUS_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        AI_PROVIDER_HEALTH_ENABLED: 'false',
        NODE_OPTIONS: `--expose-gc --require ${gcPreload}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout.on('data', (c) => (appOutput = (appOutput + c).slice(-20_000)));
    app.stderr.on('data', (c) => (appOutput = (appOutput + c).slice(-20_000)));
    for (let i = 0; ; i++) {
      if (app.exitCode !== null) throw new Error(`the app exited (${app.exitCode}):\n${appOutput}`);
      if ((await send('GET', '/health/ready')).status === 200) break;
      if (i > 200) throw new Error(`the app did not become ready:\n${appOutput}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const provider = await send('POST', '/ai-providers', { token: tokens.admin, body: { provider: 'openai', apiKey: `sk-soak-${randomBytes(16).toString('hex')}` } });
    if (provider.status !== 201) throw new Error(`seeding an AI provider config answered ${provider.status}: ${provider.text}`);

    // ---- the mix: [weight, name, expected statuses, request] ----
    const created = [];
    const published = [];
    const pickCreated = () => created[Math.floor(Math.random() * created.length)];
    const MIX = [
      [20, 'GET /me', [200], () => send('GET', '/me', { token: tokens.member })],
      [15, 'GET /approvals', [200], () => send('GET', '/approvals?limit=20&status=pending', { token: tokens.member })],
      [8, 'GET /approvals/:id', [200], () => (created.length ? send('GET', `/approvals/${pickCreated()}`, { token: tokens.member }) : send('GET', '/me', { token: tokens.member }))],
      [8, 'GET /ai-providers', [200], () => send('GET', '/ai-providers', { token: tokens.member })],
      [4, 'GET /approvals/settings', [200], () => send('GET', '/approvals/settings', { token: tokens.member })],
      [10, 'POST /approvals', [201], async () => {
        const res = await send('POST', '/approvals', { token: tokens.member, body: { type: 'soak.item', title: 'soak', confidenceScore: Math.floor(Math.random() * 80), priority: 'high' } });
        if (res.status === 201) created.push(JSON.parse(res.text).id);
        return res;
      }],
      // 409 when a concurrent approve won the race, or the item was already decided: both expected.
      [5, 'POST /approvals/:id/approve', [200, 409], () => (created.length ? send('POST', `/approvals/${pickCreated()}/approve`, { token: tokens.admin, body: { notes: 'soak' } }) : send('GET', '/me', { token: tokens.member }))],
      [10, 'POST /events', [201], async () => {
        const res = await send('POST', '/events', { token: tokens.member, body: { type: 'soak.load.created', data: { at: Date.now() } } });
        if (res.status === 201) published.push(JSON.parse(res.text).id);
        return res;
      }],
      [5, 'junk: bad JSON', [400], () => send('POST', '/approvals', { token: tokens.member, body: '{"type": "x", "title": ' })],
      [5, 'junk: wrong types', [400], () => send('POST', '/approvals', { token: tokens.member, body: { type: 1, title: [], confidenceScore: 'high' } })],
      [5, 'junk: unknown route', [404], () => send('GET', `/nothing/${randomBytes(6).toString('hex')}`)],
      [5, 'junk: bad token', [401], () => send('GET', '/me', { token: `hyv_${randomBytes(32).toString('base64url')}` })],
    ];
    const totalWeight = MIX.reduce((sum, [w]) => sum + w, 0);
    const pick = () => {
      let r = Math.random() * totalWeight;
      for (const entry of MIX) if ((r -= entry[0]) < 0) return entry;
      return MIX[0];
    };

    const stats = new Map(MIX.map(([, name]) => [name, { count: 0, errors: 0, ms: [] }]));
    stats.set('GET /metrics', { count: 0, errors: 0, ms: [] });
    stats.set('GET /health/ready', { count: 0, errors: 0, ms: [] });
    const errorSamples = [];
    const record = (name, expected, res) => {
      const s = stats.get(name);
      s.count++;
      if (s.ms.length < 200_000) s.ms.push(res.ms);
      if (!expected.includes(res.status)) {
        s.errors++;
        if (errorSamples.length < 10) errorSamples.push(`${name} → ${res.status} ${res.text.slice(0, 200)}`);
      }
    };

    const memory = [];
    const retainedHeap = async () => {
      app.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 500));
      const text = (await send('GET', '/metrics')).text;
      return scrapeValue(text, 'nodejs_heap_size_used_bytes');
    };

    let running = true;
    const startedAt = Date.now();
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (running) {
        const [, name, expected, make] = pick();
        record(name, expected, await make());
      }
    });
    const sampler = (async () => {
      while (running) {
        const metrics = await send('GET', '/metrics');
        record('GET /metrics', [200], metrics);
        record('GET /health/ready', [200], await send('GET', '/health/ready'));
        memory.push({ at: (Date.now() - startedAt) / 1000, rss: scrapeValue(metrics.text, 'process_resident_memory_bytes') });
        await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
      }
    })();

    log(`warming up ${WARM_UP_SECONDS} s, then ${SECONDS} s at concurrency ${CONCURRENCY}`);
    await new Promise((r) => setTimeout(r, WARM_UP_SECONDS * 1000));
    const heapStart = await retainedHeap();
    const rssStart = memory.at(-1)?.rss;
    const measuredFrom = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    running = false;
    await Promise.all([...workers, sampler]);
    const measuredSeconds = (Date.now() - measuredFrom) / 1000;
    const rssEnd = scrapeValue((await send('GET', '/metrics')).text, 'process_resident_memory_bytes');
    const heapEnd = await retainedHeap();
    const rssMax = Math.max(...memory.map((m) => m.rss ?? 0));

    // Every published event (POST /events and the approvals' own) must be processed once traffic stops.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const drainStarted = Date.now();
    let unfinished;
    for (;;) {
      const { rows } = await db.query(`SELECT count(*) FILTER (WHERE status NOT IN ('COMPLETED', 'DLQ'))::int AS open, count(*) FILTER (WHERE event_id = ANY($1))::int AS known FROM event_metadata`, [published]);
      unfinished = rows[0].open + (published.length - rows[0].known);
      if (unfinished === 0 || Date.now() - drainStarted > DRAIN_TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const { rows: eventRows } = await db.query(`SELECT status, count(*)::int AS n FROM event_metadata GROUP BY status ORDER BY status`);
    await db.end();

    // ---- report ----
    const percentile = (values, p) => {
      if (!values.length) return 0;
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    };
    const total = [...stats.values()].reduce((sum, s) => sum + s.count, 0);
    const errors = [...stats.values()].reduce((sum, s) => sum + s.errors, 0);
    const lines = [
      `Soak: ${SECONDS} s measured (+${WARM_UP_SECONDS} s warm-up) at concurrency ${CONCURRENCY} on ${navigatorInfo()}`,
      `Requests: ${total} in ${Math.round(measuredSeconds + WARM_UP_SECONDS)} s (${Math.round(total / (measuredSeconds + WARM_UP_SECONDS))}/s); errors: ${errors}`,
      '',
      '| request | count | errors | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|',
      ...[...stats].map(([name, s]) => `| ${name} | ${s.count} | ${s.errors} | ${percentile(s.ms, 50).toFixed(1)} | ${percentile(s.ms, 99).toFixed(1)} |`),
      '',
      `Memory: RSS ${(rssStart / MIB).toFixed(1)} → ${(rssEnd / MIB).toFixed(1)} MiB (max ${(rssMax / MIB).toFixed(1)}), ` +
        `heap after GC ${(heapStart / MIB).toFixed(1)} → ${(heapEnd / MIB).toFixed(1)} MiB`,
      `Events: ${JSON.stringify(Object.fromEntries(eventRows.map((r) => [r.status, r.n])))}; ${published.length} published via POST /events; ` +
        `unfinished after ${Math.round((Date.now() - drainStarted) / 1000)} s drain: ${unfinished}`,
      `Approval items created: ${created.length}`,
    ];
    if (errorSamples.length) lines.push('', 'First errors:', ...errorSamples.map((e) => `  ${e}`));
    const failures = [];
    if (errors > BOUNDS.errors) failures.push(`${errors} errors (bound ${BOUNDS.errors})`);
    if ((heapEnd - heapStart) / MIB > BOUNDS.retainedHeapGrowthMiB) failures.push(`retained heap grew ${((heapEnd - heapStart) / MIB).toFixed(1)} MiB (bound ${BOUNDS.retainedHeapGrowthMiB})`);
    if ((rssEnd - rssStart) / MIB > BOUNDS.rssGrowthMiB) failures.push(`RSS grew ${((rssEnd - rssStart) / MIB).toFixed(1)} MiB (bound ${BOUNDS.rssGrowthMiB})`);
    if (unfinished > BOUNDS.lostEvents) failures.push(`${unfinished} events not processed (bound ${BOUNDS.lostEvents})`);
    lines.push('', failures.length ? `FAIL: ${failures.join('; ')}` : `PASS (bounds: ${JSON.stringify(BOUNDS)})`);
    process.stdout.write(`${lines.join('\n')}\n`);
    verdict = failures.length ? 1 : 0;
  } finally {
    if (app && app.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((r) => app.once('exit', r));
    }
    agent.destroy();
    const keys = await redis.keys(`${prefix}:*`).catch(() => []);
    if (keys.length) await redis.del(...keys).catch(() => undefined);
    redis.disconnect();
    const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(gcPreload, { force: true });
  }
  process.exit(verdict);
}

function navigatorInfo() {
  return `${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exit(1);
});
