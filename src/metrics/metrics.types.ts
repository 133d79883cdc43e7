/**
 * Names, label values and shapes of everything on /metrics. Metric names are a public contract: dashboards
 * (deploy/grafana) and alert rules (deploy/prometheus) depend on them, and docs/observability.md lists them.
 */

export const METRICS_PATH = '/metrics';
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** OpenTelemetry's advisory buckets for http.server.request.duration, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Event handlers are usually fast; the tail matters up to the retry delays. */
export const EVENT_PROCESSING_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Provider checks are remote HTTP calls bounded by AI_PROVIDER_HEALTH_TIMEOUT_MS (10 s by default). */
export const PROVIDER_CHECK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

/** Route label for requests no route matched (404s, requests rejected before routing). */
export const UNMATCHED_ROUTE = 'unmatched';
/** Method label for anything outside the standard set, so junk methods cannot create series. */
export const OTHER_METHOD = '_OTHER';
export const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
/** Status label for requests the client aborted before the response finished (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

/** Logical stream names used as the `stream` label (the Redis keys carry a deployment prefix). */
export const STREAM_LABELS = { main: 'main', dlq: 'dlq' } as const;

/** The window of `event_bus_recent_events`. */
export const RECENT_EVENTS_WINDOW_MS = 60 * 60 * 1000;

export const COLLECTOR_NAMES = ['event_bus', 'event_metadata', 'approvals', 'ai_providers'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

/** One dependency-backed source of gauges: how to fetch a snapshot, and how to show it. */
export interface SnapshotSource<T> {
  readonly name: CollectorName;
  fetch(): Promise<T>;
}
