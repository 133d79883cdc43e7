import { readFileSync } from 'node:fs';
import {
  alertNamesIn,
  allPanels,
  dashboardQueries,
  KIT,
  loadDashboard,
  markdownPromqlQueries,
  metricNames,
  substituteVariables,
  variableQuery,
  type GrafanaPanel,
} from './promql.js';

const dashboard = loadDashboard();
const panels = allPanels(dashboard);
const dataPanels = panels.filter((p) => p.type !== 'row');
const DS_REF = { type: 'prometheus', uid: '${datasource}' };
const GRID_COLUMNS = 24;

/** The panels placed under each row (rows are flat in an expanded dashboard: a row owns what follows it). */
function panelsByRow(): Map<string, GrafanaPanel[]> {
  const byRow = new Map<string, GrafanaPanel[]>();
  let current = '';
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') {
      current = panel.title ?? '';
      byRow.set(current, [...(panel.panels ?? [])]);
    } else {
      byRow.get(current)?.push(panel);
    }
  }
  return byRow;
}

function exprsOf(list: GrafanaPanel[]): string {
  return list.flatMap((p) => (p.targets ?? []).map((t) => String(t.expr))).join('\n');
}

describe('Grafana dashboard deploy/grafana/hyvve-api.json', () => {
  it('is an importable dashboard with a uid, a title and a schema version', () => {
    expect(dashboard.uid).toBe('hyvve-api');
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toEqual(expect.any(Number));
    // Imported dashboards must not carry an instance-specific numeric id.
    expect(dashboard.id ?? null).toBeNull();
    expect((dashboard.__requires as { id: string }[]).map((r) => r.id)).toEqual(
      expect.arrayContaining(['grafana', 'prometheus']),
    );
  });

  it('has a Prometheus data-source variable and job/instance query variables that use it', () => {
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const instance = vars.get('instance')!;
    expect(instance).toMatchObject({ type: 'query', datasource: DS_REF, includeAll: true, multi: true });
    expect(variableQuery(instance)).toMatch(/^label_values\(.+\{job=~"\$job"\}, instance\)$/);
    const job = vars.get('job')!;
    expect(job).toMatchObject({ type: 'query', datasource: DS_REF });
    expect(variableQuery(job)).toMatch(/^label_values\(.+, job\)$/);
  });

  it('gives every panel a unique id and a gridPos inside the 24-column grid, without overlaps', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const owner = new Map<string, number>();
    const overlaps: string[] = [];
    for (const panel of panels) {
      const g = panel.gridPos!;
      expect(g, `panel ${panel.id}`).toBeDefined();
      expect(g.w).toBeGreaterThan(0);
      expect(g.h).toBeGreaterThan(0);
      expect(g.x).toBeGreaterThanOrEqual(0);
      expect(g.x + g.w).toBeLessThanOrEqual(GRID_COLUMNS);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = owner.get(`${x},${y}`);
          if (other !== undefined) overlaps.push(`panel ${panel.id} overlaps panel ${other} at ${x},${y}`);
          owner.set(`${x},${y}`, panel.id!);
        }
      }
    }
    expect(overlaps).toEqual([]);
  });

  it('points every panel and every target at the data-source variable, with a PromQL expression', () => {
    expect(dataPanels.length).toBeGreaterThan(20);
    for (const panel of dataPanels) {
      expect(panel.datasource, `panel ${panel.id} "${panel.title}"`).toEqual(DS_REF);
      expect(panel.targets?.length, `panel ${panel.id} "${panel.title}" has no target`).toBeGreaterThan(0);
      const refIds = panel.targets!.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const target of panel.targets!) {
        expect(target.datasource).toEqual(DS_REF);
        expect(typeof target.expr === 'string' && target.expr.trim().length > 0).toBe(true);
      }
    }
  });

  it('filters every selector by the job and instance variables', () => {
    for (const { where, expr } of dashboardQueries(dashboard)) {
      for (const name of metricNames(expr)) {
        const uses = [...expr.matchAll(new RegExp(`\\b${name}\\b(\\{[^}]*\\})?`, 'g'))];
        for (const use of uses) {
          expect(use[1] ?? '', `${where}: ${name} without the job/instance filter`).toContain('job=~"$job"');
          expect(use[1] ?? '', `${where}: ${name} without the job/instance filter`).toContain('instance=~"$instance"');
        }
      }
    }
  });

  it('has the rows and the content the operator needs', () => {
    const rows = panelsByRow();
    expect([...rows.keys()]).toEqual(
      expect.arrayContaining(['HTTP', 'Connections', 'Event bus', 'Approvals', 'AI providers', 'Metrics collectors', 'Node.js process']),
    );
    const http = exprsOf(rows.get('HTTP')!);
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(http).toMatch(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, sum by \\(le, method, route\\) \\(rate\\(http_request_duration_seconds_bucket`));
    }
    expect(http).toContain('status_code=~"5.."');
    expect(http).toMatch(/sum by \(method, route\) \(rate\(http_requests_total/);
    expect(exprsOf(rows.get('Connections')!)).toMatch(/http_active_connections[\s\S]*http_connections_total/);
    const bus = exprsOf(rows.get('Event bus')!);
    for (const m of ['event_bus_throughput_total', 'event_bus_consumer_lag{', 'event_bus_consumer_lag_seconds', 'event_bus_pending_messages', 'event_bus_dlq_size', 'event_bus_events_processed_total']) {
      expect(bus).toContain(m);
    }
    const approvals = exprsOf(rows.get('Approvals')!);
    for (const m of ['max by (status) (approval_queue_depth', 'approval_queue_oldest_pending_age_seconds', 'approval_queue_overdue']) {
      expect(approvals).toContain(m);
    }
    const ai = exprsOf(rows.get('AI providers')!);
    expect(ai).toContain('ai_provider_health');
    expect(ai).toContain('max by (provider, status) (ai_provider_configs');
    const collectors = exprsOf(rows.get('Metrics collectors')!);
    expect(collectors).toContain('metrics_collector_up');
    expect(collectors).toContain('metrics_collector_duration_seconds');
    const node = exprsOf(rows.get('Node.js process')!);
    for (const m of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag', 'nodejs_gc_duration_seconds']) {
      expect(node).toContain(m);
    }
  });

  it('aggregates fleet-wide gauges with max, never sum (each replica reports the same value)', () => {
    const fleet = /\b(event_bus_(?:throughput_total|stream_length|consumer_lag|consumer_lag_seconds|pending_messages|consumers|dlq_size|recent_events)|approval_queue_\w+|ai_provider_(?:health|configs|last_check_timestamp_seconds))\{/;
    for (const { where, expr } of dashboardQueries(dashboard)) {
      if (!fleet.test(expr)) continue;
      expect(expr, where).not.toMatch(/^\s*sum\s*\(\s*[a-z_]+\{/);
      expect(expr, where).toMatch(/\bmax(?: by \([^)]*\))? ?\(/);
    }
  });

  it('uses only metrics that docs/observability.md documents (Node.js defaults and up aside)', () => {
    const doc = readFileSync(KIT.observabilityDoc, 'utf8');
    const undocumented = new Set<string>();
    for (const { expr } of dashboardQueries(dashboard)) {
      for (const name of metricNames(expr)) {
        if (name === 'up' || /^(process|nodejs)_/.test(name)) continue;
        const family = name.replace(/_(bucket|count|sum)$/, '');
        if (!doc.includes(`\`${name}\``) && !doc.includes(`\`${family}\``)) undocumented.add(name);
      }
    }
    expect([...undocumented]).toEqual([]);
  });
});

describe('PromQL helpers used by the end-to-end check', () => {
  it('metricNames finds the selected metrics and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job", route!~"/health/.*|unmatched"}[5m]))) > 2.5 and on (route) sum by (route) (rate(http_requests_total[5m] offset 1m)) > 0.05',
      ).sort(),
    ).toEqual(['http_request_duration_seconds_bucket', 'http_requests_total']);
    expect(metricNames('(sum(rate(a_total{x="by (y)"}[1m])) or vector(0)) / sum without (instance) (b)').sort()).toEqual(['a_total', 'b']);
    expect(metricNames('time() - max by (provider) (ai_provider_last_check_timestamp_seconds{job="x"} > 0)')).toEqual([
      'ai_provider_last_check_timestamp_seconds',
    ]);
    expect(metricNames('absent(up{job="hyvve-api"})')).toEqual(['up']);
    expect(metricNames('max(x) > 4 * 86400 and 1e3 < bool y')).toEqual(['x', 'y']);
  });

  it('substituteVariables replaces every Grafana variable syntax and rejects undeclared ones', () => {
    expect(substituteVariables('rate(a{i=~"$instance", j="${job}", k="[[k]]"}[$__rate_interval])', { instance: 'h:1', job: 'j', k: 'v', __rate_interval: '1m' })).toBe(
      'rate(a{i=~"h:1", j="j", k="v"}[1m])',
    );
    expect(() => substituteVariables('a{x="$nope"}', {})).toThrow(/unknown variable \$nope/);
  });
});

describe('runbook coverage', () => {
  it('documents every alert in docs/observability.md: a table row and a section its runbook annotation points to', () => {
    const doc = readFileSync(KIT.observabilityDoc, 'utf8');
    const rules = readFileSync(KIT.alerts, 'utf8');
    const alerts = alertNamesIn(rules);
    for (const alert of alerts) {
      expect(doc, alert).toContain(`| \`${alert}\` |`);
      expect(doc, alert).toMatch(new RegExp(`^### ${alert}$`, 'm'));
      expect(rules, alert).toContain(`runbook: "docs/observability.md#${alert.toLowerCase()}"`);
    }
  });

  it('splits the documentation\'s promql blocks into queries', () => {
    const md = ['text', '```promql', '# comment', 'sum(a)', '  / sum(b)', '', 'max(c)', '```', '```sql', 'SELECT 1', '```'].join('\n');
    expect(markdownPromqlQueries(md, 'x.md')).toEqual([
      { where: 'x.md:4', expr: 'sum(a) / sum(b)' },
      { where: 'x.md:7', expr: 'max(c)' },
    ]);
  });
});
