import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Paths of the operator kit, from the repository root. */
const root = fileURLToPath(new URL('../../', import.meta.url));
export const KIT = {
  root,
  dashboard: `${root}deploy/grafana/hyvve-api.json`,
  prometheusConfig: `${root}deploy/prometheus/prometheus.yml`,
  alerts: `${root}deploy/prometheus/alerts.yml`,
  ruleTestsDir: `${root}deploy/prometheus/tests`,
  observabilityDoc: `${root}docs/observability.md`,
};

export interface GrafanaTarget {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  [key: string]: unknown;
}

export interface GrafanaPanel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  [key: string]: unknown;
}

export interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query?: string; [key: string]: unknown };
  definition?: string;
  datasource?: unknown;
  [key: string]: unknown;
}

export interface GrafanaDashboard {
  title: string;
  uid?: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
  [key: string]: unknown;
}

export function loadDashboard(path = KIT.dashboard): GrafanaDashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as GrafanaDashboard;
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  for (const panel of dashboard.panels) {
    out.push(panel);
    for (const nested of panel.panels ?? []) out.push(nested);
  }
  return out;
}

/** A PromQL expression and where it comes from, for messages that point at the culprit. */
export interface NamedQuery {
  where: string;
  expr: string;
}

/** The PromQL of every panel target (rows have none), in dashboard order. */
export function dashboardQueries(dashboard: GrafanaDashboard): NamedQuery[] {
  const out: NamedQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr !== 'string') continue;
      out.push({ where: `panel ${panel.id} "${panel.title}" target ${target.refId}`, expr: target.expr });
    }
  }
  return out;
}

/** The PromQL of a Grafana query variable (`label_values(...)`, string or object form). */
export function variableQuery(variable: GrafanaVariable): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query ?? variable.definition;
}

/**
 * Replaces Grafana variables ($name, ${name}, ${name:format}, [[name]]) with the given values. An unknown
 * variable throws: a dashboard that uses a variable it does not declare is broken in Grafana too.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (match, braced, plain, legacy) => {
    const name = (braced ?? plain ?? legacy) as string;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable ${match} in: ${expr}`);
    return value;
  });
}

const NOT_METRIC_NAMES = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
  'atan2',
]);

/**
 * Metric names a PromQL expression selects. A small lexer is enough for the expressions we ship: strings,
 * label matchers, ranges and grouping clauses are blanked first, then every remaining identifier that is not
 * a function call, a keyword or the unit of a number/duration is a metric name.
 */
export function metricNames(expr: string): string[] {
  const blanked = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of blanked.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const index = match.index;
    if (index > 0 && /[0-9.]/.test(blanked[index - 1]!)) continue; // 5m, 1e3
    if (blanked.slice(index + word.length).trimStart().startsWith('(')) continue; // function or aggregation
    if (NOT_METRIC_NAMES.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Alert names declared in a rules file (`- alert: Name` lines). */
export function alertNamesIn(rulesYaml: string): string[] {
  return [...rulesYaml.matchAll(/^\s*-\s*alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/**
 * The alert cases of a promtool test file, as written in deploy/prometheus/tests (`alertname:` followed by
 * `exp_alerts:`, either `[]` for a silent case or a list for a firing one).
 */
export function alertCasesIn(testYaml: string): { alertname: string; fires: boolean }[] {
  return [...testYaml.matchAll(/alertname:\s*(\S+)\s*\n\s*exp_alerts:[ \t]*(\[\])?/g)].map((m) => ({
    alertname: m[1]!,
    fires: m[2] === undefined,
  }));
}

/**
 * The queries of every ```promql block of a Markdown document: one per line, indented lines continuing the
 * previous query, `#` lines being comments.
 */
export function markdownPromqlQueries(markdown: string, file = 'docs'): NamedQuery[] {
  const out: NamedQuery[] = [];
  for (const block of markdown.matchAll(/^```promql\n([\s\S]*?)^```/gm)) {
    const firstLine = markdown.slice(0, block.index).split('\n').length + 1;
    let current: NamedQuery | undefined;
    block[1]!.split('\n').forEach((text, i) => {
      if (!text.trim() || text.trimStart().startsWith('#')) return;
      if (current && /^\s/.test(text)) {
        current.expr += ` ${text.trim()}`;
        return;
      }
      if (current) out.push(current);
      current = { where: `${file}:${firstLine + i}`, expr: text.trim() };
    });
    if (current) out.push(current);
  }
  return out;
}
