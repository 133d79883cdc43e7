import { metricNames, type NamedQuery } from './promql.js';
import type { PrometheusServer, QueryResult } from './prometheus-server.js';

export interface QueryProblem {
  where: string;
  expr: string;
  problem: string;
}

export interface CheckOptions {
  /** The query must return at least one sample with a real (non-NaN) value. */
  requireData: boolean;
  /**
   * Sample names present in Prometheus. Every metric an expression selects must be among them, so a misspelt
   * metric is caught even where `or vector(0)` or an alert condition would hide the empty selector.
   */
  knownMetrics: Set<string>;
}

function realValues(result: QueryResult): number {
  switch (result.resultType) {
    case 'vector':
      return result.result.filter((s) => !Number.isNaN(Number(s.value[1]))).length;
    case 'matrix':
      return result.result.filter((s) => s.values.some(([, v]) => !Number.isNaN(Number(v)))).length;
    case 'scalar':
      return Number.isNaN(Number(result.result[1])) ? 0 : 1;
    default:
      return 0;
  }
}

/**
 * Evaluates each expression through Prometheus's HTTP API and lists what is wrong: a query error, a metric
 * Prometheus has never seen, or (when required) no data. An empty list means every expression is good.
 */
export async function checkQueries(
  prometheus: PrometheusServer,
  queries: NamedQuery[],
  options: CheckOptions,
): Promise<QueryProblem[]> {
  const problems: QueryProblem[] = [];
  for (const { where, expr } of queries) {
    const unknown = metricNames(expr).filter((name) => !options.knownMetrics.has(name));
    if (unknown.length > 0) problems.push({ where, expr, problem: `unknown metric(s): ${unknown.join(', ')}` });

    const answer = await prometheus.query(expr);
    if (answer.status !== 'success' || !answer.data) {
      problems.push({ where, expr, problem: `query failed: ${answer.errorType ?? ''} ${answer.error ?? ''}`.trim() });
      continue;
    }
    if (options.requireData && realValues(answer.data) === 0) {
      const empty = answer.data.resultType === 'vector' && answer.data.result.length === 0;
      problems.push({ where, expr, problem: empty ? 'no data' : 'only NaN values' });
    }
  }
  return problems;
}

export function formatProblems(problems: QueryProblem[]): string {
  return problems.map((p) => `- ${p.where}: ${p.problem}\n    ${p.expr.replace(/\s+/g, ' ')}`).join('\n');
}
