import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AI_PROVIDERS, APPROVAL_STATUSES, EVENT_STATUSES } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { FakeAiProvider } from './fake-ai-provider.js';
import { PrometheusServer, sleep } from './prometheus-server.js';
import {
  alertNamesIn,
  allPanels,
  dashboardQueries,
  KIT,
  loadDashboard,
  markdownPromqlQueries,
  substituteVariables,
  variableQuery,
  type GrafanaDashboard,
  type NamedQuery,
} from './promql.js';
import { checkQueries, formatProblems, type QueryProblem } from './query-checker.js';

/**
 * The operator kit against the real thing: the API (with its background consumer and a metrics token) scraped
 * every second by a real Prometheus loading the shipped alert rules. After driving HTTP traffic, events,
 * approvals and provider checks through the public API, every dashboard query and every alert expression is
 * evaluated through Prometheus's HTTP API.
 */

const JOB = 'hyvve-api';
/** What Grafana would put in the time-based variables; traffic in this test spans well under a minute. */
const GRAFANA_TIME_VARIABLES = { __rate_interval: '1m', __interval: '15s', __range: '5m' };
/** How long the collected data may take to show everything the traffic did (scrape + collector refresh). */
const SETTLE_TIMEOUT_MS = 25_000;
const POLL_MS = 500;
/** A live system has traffic all the time; so does the test while it queries, or rate() windows run dry. */
const STEADY_TRAFFIC_PERIOD_MS = 1_000;

/** Names and types are a public contract (issue "Prometheus metrics export"); dashboards and alerts use them. */
const CONTRACT_TYPES: Record<string, string> = {
  http_request_duration_seconds: 'histogram',
  http_requests_total: 'counter',
  http_requests_in_flight: 'gauge',
  http_active_connections: 'gauge',
  http_connections_total: 'counter',
  event_bus_throughput_total: 'counter',
  event_bus_stream_length: 'gauge',
  event_bus_consumer_lag: 'gauge',
  event_bus_consumer_lag_seconds: 'gauge',
  event_bus_pending_messages: 'gauge',
  event_bus_consumers: 'gauge',
  event_bus_dlq_size: 'gauge',
  event_bus_dlq_trimmed_total: 'counter',
  event_bus_recent_events: 'gauge',
  event_bus_events_published_total: 'counter',
  event_bus_events_processed_total: 'counter',
  event_bus_processing_duration_seconds: 'histogram',
  approval_queue_depth: 'gauge',
  approval_queue_oldest_pending_age_seconds: 'gauge',
  approval_queue_overdue: 'gauge',
  ai_provider_health: 'gauge',
  ai_provider_configs: 'gauge',
  ai_provider_last_check_timestamp_seconds: 'gauge',
  ai_provider_check_duration_seconds: 'histogram',
  metrics_collector_up: 'gauge',
  metrics_collector_duration_seconds: 'gauge',
  metrics_collector_last_success_timestamp_seconds: 'gauge',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

const GOOD_KEY = `sk-good-${randomBytes(12).toString('hex')}`;
const BAD_KEY = `sk-revoked-${randomBytes(12).toString('hex')}`;

/** As Grafana interpolates a variable into a `=~"..."` matcher: regex-escaped, then escaped for the PromQL string. */
function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/** Runs `tick` every period until stopped (never two at once), like the background traffic of a live system. */
class SteadyTraffic {
  private constructor(private readonly loop: Promise<void>, private readonly stopFlag: { stopped: boolean }) {}

  static start(tick: () => Promise<void>): SteadyTraffic {
    const flag = { stopped: false };
    const loop = (async () => {
      while (!flag.stopped) {
        await tick().catch(() => undefined);
        await sleep(STEADY_TRAFFIC_PERIOD_MS);
      }
    })();
    return new SteadyTraffic(loop, flag);
  }

  async stop(): Promise<void> {
    this.stopFlag.stopped = true;
    await this.loop;
  }
}

async function eventually<T>(attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs = SETTLE_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await attempt();
  while (!done(value) && Date.now() < deadline) {
    await sleep(POLL_MS);
    value = await attempt();
  }
  return value;
}

describe('operator kit against a real Prometheus scraping the API', () => {
  let t: TestApp;
  let prometheus: PrometheusServer;
  let provider: FakeAiProvider;
  let instance: string;
  let variables: Record<string, string>;
  let background: SteadyTraffic | undefined;
  const dashboard = loadDashboard();

  async function checkDashboard(d: GrafanaDashboard): Promise<QueryProblem[]> {
    const queries = dashboardQueries(d).map((q) => ({ ...q, expr: substituteVariables(q.expr, variables) }));
    return checkQueries(prometheus, queries, { requireData: true, knownMetrics: await prometheus.metricNames() });
  }

  beforeAll(async () => {
    const metricsToken = randomBytes(24).toString('hex');
    provider = await FakeAiProvider.start(GOOD_KEY);
    t = await startTestApp({
      env: {
        EVENT_BUS_CONSUMER_ENABLED: 'true',
        EVENT_BUS_BLOCK_MS: '200',
        EVENT_BUS_MAX_RETRIES: '1',
        EVENT_BUS_RETRY_DELAYS_MS: '100',
        METRICS_COLLECT_INTERVAL_SECONDS: '1',
        METRICS_TOKEN: metricsToken,
        AI_PROVIDER_OPENAI_BASE_URL: provider.url,
        AI_PROVIDER_CLAUDE_BASE_URL: provider.url,
      },
    });
    instance = new URL(t.url).host;
    variables = { job: JOB, instance: escapeRegex(instance), ...GRAFANA_TIME_VARIABLES };
    prometheus = await PrometheusServer.start({ target: instance, job: JOB, ruleFiles: [KIT.alerts], bearerToken: metricsToken });
    await driveTraffic();
  });

  afterAll(async () => {
    await background?.stop();
    await prometheus?.stop();
    await t?.close();
    await provider?.close();
  });

  /** Prometheus discovers a static target only after its discovery throttle (about 5 s). */
  async function waitForFirstScrape(): Promise<void> {
    const up = await eventually(
      () => prometheus.query(`up{job="${JOB}"} == 1`),
      (answer) => answer.data?.resultType === 'vector' && answer.data.result.length > 0,
    );
    expect(up.data?.result, `target never came up:\n${prometheus.log}`).toHaveLength(1);
  }

  async function driveTraffic(): Promise<void> {
    const admin = (await t.token('opskit', 'admin')).token;
    const member = (await t.token('opskit', 'member')).token;

    const created = await Promise.all([
      t.request('POST', '/ai-providers', { token: admin, body: { provider: 'openai', apiKey: GOOD_KEY } }),
      t.request('POST', '/ai-providers', { token: admin, body: { provider: 'claude', apiKey: BAD_KEY } }),
    ]);
    for (const res of created) expect(res.status, JSON.stringify(res.body)).toBe(201);
    const providerIds = created.map((res) => res.body.id as string);

    for (let round = 1; round <= 2; round++) {
      const approvals = await Promise.all(
        [70, 40, 75, 95].map((confidenceScore, i) =>
          t.request('POST', '/approvals', {
            token: admin,
            body: { type: 'content.publish', title: `Round ${round} item ${i}`, confidenceScore },
          }),
        ),
      );
      for (const res of approvals) expect(res.status, JSON.stringify(res.body)).toBe(201);
      const [, toApprove, toReject] = approvals.map((res) => res.body.id as string);
      const decisions = await Promise.all([
        t.request('POST', `/approvals/${toApprove}/approve`, { token: admin, body: {} }),
        t.request('POST', `/approvals/${toReject}/reject`, { token: admin, body: { reason: 'not now' } }),
      ]);
      for (const res of decisions) expect(res.status, JSON.stringify(res.body)).toBe(200);

      const statuses = await Promise.all([
        t.request('POST', '/events', { token: member, body: { type: 'opskit.probe.sent', data: { round } } }),
        // Can never succeed (no title): retried once, then dead-lettered.
        t.request('POST', '/events', { token: member, body: { type: 'approval.item.requested', data: { round } } }),
        t.request('GET', '/approvals', { token: member }),
        t.request('GET', '/me', { token: member }),
        t.request('GET', '/health/ready'),
        t.request('GET', '/admin/events/stats', { token: admin }),
        t.request('GET', '/admin/events/dlq', { token: admin }),
        t.request('GET', '/approvals'), // 401
        t.request('GET', `/no/such/route/${round}`), // 404, route="unmatched"
        t.request('POST', '/approvals', { token: admin, body: { title: '' } }), // 400
        t.request('POST', '/ai-providers', { token: member, body: { provider: 'gemini', apiKey: GOOD_KEY } }), // 403
        ...providerIds.map((id) => t.request('POST', `/ai-providers/${id}/test`, { token: admin })),
      ]).then((answers) => answers.map((a) => a.status));
      expect(statuses).toEqual([201, 201, 200, 200, 200, 200, 200, 401, 404, 400, 403, 200, 200]);
      // Counters must grow after Prometheus first saw them for rate() to show anything: the first round
      // creates the series while discovery warms up, the second one makes them grow.
      if (round === 1) await waitForFirstScrape();
    }
    background = SteadyTraffic.start(async () => {
      await Promise.all([
        t.request('GET', '/approvals', { token: member }),
        t.request('GET', '/me', { token: member }),
        t.request('GET', '/no/such/route'),
        t.request('POST', '/events', { token: member, body: { type: 'opskit.probe.sent', data: {} } }),
      ]);
    });
  }

  it('scrapes the API with the bearer token: the target is up', async () => {
    const targets = await prometheus.get<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>(
      '/api/v1/targets?state=active',
    );
    expect(targets.status).toBe('success');
    const target = targets.data!.activeTargets.find((a) => a.labels.job === JOB);
    expect(target, prometheus.log).toMatchObject({ health: 'up', lastError: '', labels: { instance } });
    const up = await prometheus.query(`up{job="${JOB}"}`);
    expect(up.data).toMatchObject({ resultType: 'vector', result: [{ value: [expect.any(Number), '1'] }] });
  });

  it('sees what the traffic did: provider health, DLQ, approvals, events', async () => {
    const expectations: [string, (v: number) => boolean][] = [
      ['max(ai_provider_health{provider="openai"})', (v) => v === 1],
      ['max(ai_provider_health{provider="claude"})', (v) => v === 0],
      ['max(event_bus_dlq_size)', (v) => v >= 2],
      // Per round: 70 and 40 and 75 pending, 95 auto-approved; then the 40 is approved and the 75 rejected.
      ['max(approval_queue_depth{status="pending"})', (v) => v === 2],
      ['max(approval_queue_depth{status="auto_approved"})', (v) => v === 2],
      ['max(approval_queue_depth{status="rejected"})', (v) => v === 2],
      ['sum(event_bus_events_processed_total{outcome="dead_lettered"})', (v) => v >= 2],
      ['sum(http_requests_total{route="unmatched", status_code="404"})', (v) => v >= 2],
    ];
    const values = await eventually(
      () =>
        Promise.all(
          expectations.map(async ([expr]) => {
            const answer = await prometheus.query(expr);
            const sample = answer.data?.resultType === 'vector' ? answer.data.result[0] : undefined;
            return sample ? Number(sample.value[1]) : Number.NaN;
          }),
        ),
      (vs) => vs.every((v, i) => expectations[i]![1](v)),
    );
    const unmet = expectations.flatMap(([expr, ok], i) => (ok(values[i]!) ? [] : [`${expr} = ${values[i]}`]));
    expect(unmet).toEqual([]);
  });

  it('Prometheus sees every metric the kit relies on with its contract type and label values', async () => {
    const metadata = await prometheus.get<Record<string, { type: string }[]>>('/api/v1/metadata');
    const types = Object.fromEntries(Object.entries(metadata.data ?? {}).map(([name, [first]]) => [name, first?.type]));
    expect(Object.fromEntries(Object.keys(CONTRACT_TYPES).map((name) => [name, types[name]]))).toEqual(CONTRACT_TYPES);

    const labelValues = async (metric: string, label: string): Promise<string[]> => {
      const answer = await prometheus.get<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(metric)}`);
      return [...new Set((answer.data ?? []).map((series) => series[label]!))].sort();
    };
    const sorted = (values: readonly string[]) => [...values].sort();
    expect(await labelValues('approval_queue_depth', 'status')).toEqual(sorted(APPROVAL_STATUSES));
    expect(await labelValues('event_bus_recent_events', 'status')).toEqual(sorted(EVENT_STATUSES));
    expect(await labelValues('ai_provider_health', 'provider')).toEqual(sorted(AI_PROVIDERS));
    expect(await labelValues('ai_provider_configs', 'status')).toEqual(['healthy', 'unchecked', 'unhealthy']);
    expect(await labelValues('metrics_collector_up', 'collector')).toEqual(['ai_providers', 'approvals', 'event_bus', 'event_metadata']);
    expect(await labelValues('event_bus_throughput_total', 'stream')).toEqual(['dlq', 'main']);
    expect(await labelValues('event_bus_consumer_lag_seconds', 'consumer_group')).toEqual(['hyvve-platform']);
    expect(await labelValues('event_bus_events_processed_total', 'outcome')).toEqual(expect.arrayContaining(['dead_lettered', 'success']));
  });

  it('every dashboard panel query evaluates without error and returns data', async () => {
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(40);
    // Every panel has a target, so "every target returns data" covers "every panel returns data".
    expect(allPanels(dashboard).filter((p) => p.type !== 'row' && !p.targets?.length)).toEqual([]);
    const problems = await eventually(
      () => checkDashboard(dashboard),
      (p) => p.length === 0,
    );
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('the job and instance variables find this API', async () => {
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = substituteVariables(variableQuery(variable)!, variables);
      const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query);
      expect(match, query).not.toBeNull();
      const [, selector, label] = match!;
      const answer = await prometheus.get<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector!)}`);
      expect(answer.status).toBe('success');
      expect(answer.data).toContain(variable.name === 'job' ? JOB : instance);
    }
  });

  it('every alert rule is loaded, evaluates without error and selects only existing metrics', async () => {
    type Rule = { name: string; query: string; health: string; lastError?: string; lastEvaluation: string };
    const declared = alertNamesIn(readFileSync(KIT.alerts, 'utf8'));
    const rules = await eventually(
      async () => {
        const answer = await prometheus.get<{ groups: { rules: Rule[] }[] }>('/api/v1/rules?type=alert');
        return answer.data?.groups.flatMap((g) => g.rules) ?? [];
      },
      (rs) => rs.length === declared.length && rs.every((r) => !r.lastEvaluation.startsWith('0001-')),
    );
    expect(rules.map((r) => r.name).sort()).toEqual([...declared].sort());
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError}`)).toEqual([]);

    const queries: NamedQuery[] = rules.map((r) => ({ where: `alert ${r.name}`, expr: r.query }));
    const problems = await checkQueries(prometheus, queries, { requireData: false, knownMetrics: await prometheus.metricNames() });
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('every PromQL query in docs/observability.md evaluates and selects only existing metrics', async () => {
    const queries = markdownPromqlQueries(readFileSync(KIT.observabilityDoc, 'utf8'), 'docs/observability.md');
    expect(queries.length).toBeGreaterThan(30);
    const problems = await checkQueries(prometheus, queries, { requireData: false, knownMetrics: await prometheus.metricNames() });
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('the check fails on a dashboard query that references a metric that does not exist', async () => {
    const broken = structuredClone(dashboard);
    const panels = allPanels(broken);
    const overdue = panels.find((p) => p.title === 'Overdue items')!;
    overdue.targets![0]!.expr = overdue.targets![0]!.expr!.replace('approval_queue_overdue', 'approval_queue_overdue_items');
    // Misspelt inside `or vector(0)`: the panel still shows 0, only the metric check can tell.
    const errors = panels.find((p) => p.title === 'Error ratio')!;
    errors.targets![0]!.expr = errors.targets![0]!.expr!.replace('http_requests_total{', 'http_request_total{');
    const lag = panels.find((p) => p.title === 'Consumer lag (seconds)')!;
    lag.targets![0]!.expr = lag.targets![0]!.expr!.replace(/\)$/, ''); // unclosed parenthesis

    const problems = await checkDashboard(broken);
    const summary = problems.map((p) => `${p.where}: ${p.problem}`);
    expect(summary).toEqual([
      expect.stringMatching(/"Error ratio" target A: unknown metric\(s\): http_request_total$/),
      expect.stringMatching(/"Consumer lag \(seconds\)" target A: query failed: bad_data .*parse error/),
      expect.stringMatching(/"Overdue items" target A: unknown metric\(s\): approval_queue_overdue_items$/),
      expect.stringMatching(/"Overdue items" target A: no data$/),
    ]);
  });
});
