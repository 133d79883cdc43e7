import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from './metrics.service.js';
import {
  CLIENT_CLOSED_STATUS,
  HTTP_DURATION_BUCKETS,
  METRICS_PATH,
  OTHER_METHOD,
  STANDARD_METHODS,
  UNMATCHED_ROUTE,
} from './metrics.types.js';

type HttpLabel = 'method' | 'route' | 'status_code';
type HttpLabels = Record<HttpLabel, string>;

const STARTED_AT = Symbol('metricsStartedAt');
type TimedRequest = Request & { [STARTED_AT]?: number };
type TimedResponse = ServerResponse & { req: TimedRequest };

const METHODS = new Set<string>(STANDARD_METHODS);
const METRICS_PATH_WITH_QUERY = `${METRICS_PATH}?`;

/**
 * HTTP timing, intercepted at the Express layer rather than as a Nest interceptor: a Nest interceptor never
 * sees requests that guards reject (401/403), that match no route (404) or whose status an exception filter
 * sets. One middleware stamps the start time; one shared 'close' listener (no per-request closure) records
 * the request when the response finishes or the client aborts. Label objects are cached per
 * (route, method, status), so recording is three Map lookups plus prom-client's observe and inc.
 */
@Injectable()
export class HttpMetricsInterceptor {
  readonly enabled: boolean;
  private readonly duration?: Histogram<HttpLabel>;
  private readonly requests?: Counter<HttpLabel>;
  private readonly labelCache = new Map<string, Map<string, Map<number, HttpLabels>>>();
  private inFlight = 0;

  constructor(metrics: MetricsService, config: AppConfig) {
    this.enabled = config.env.METRICS_HTTP_ENABLED;
    if (!this.enabled) return;
    const registers = [metrics.registry];
    const labelNames: HttpLabel[] = ['method', 'route', 'status_code'];
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the request reaching the app to the response finishing (or the client aborting), by route template.',
      labelNames,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'Requests answered (or aborted by the client, status_code 499), by method, route template and status.',
      labelNames,
      registers,
    });
    const interceptor = this;
    new Gauge({
      name: 'http_requests_in_flight',
      help: 'Requests received and not yet answered.',
      registers,
      collect() {
        this.set(interceptor.inFlight);
      },
    });
  }

  private readonly onResponseClose = (() => {
    const interceptor = this;
    return function (this: TimedResponse): void {
      interceptor.record(this);
    };
  })();

  readonly middleware = (req: TimedRequest, res: Response, next: NextFunction): void => {
    const url = req.url;
    if (url !== METRICS_PATH && !url.startsWith(METRICS_PATH_WITH_QUERY)) {
      req[STARTED_AT] = performance.now();
      this.inFlight++;
      res.once('close', this.onResponseClose);
    }
    next();
  };

  private record(res: TimedResponse): void {
    const req = res.req;
    this.inFlight--;
    const seconds = (performance.now() - req[STARTED_AT]!) / 1000;
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS;
    const labels = this.labelsFor(routeOf(req), req.method, status);
    this.duration!.observe(labels, seconds);
    this.requests!.inc(labels);
  }

  private labelsFor(route: string, rawMethod: string, status: number): HttpLabels {
    let byMethod = this.labelCache.get(route);
    if (!byMethod) this.labelCache.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(rawMethod);
    if (!byStatus) byMethod.set(rawMethod, (byStatus = new Map()));
    let labels = byStatus.get(status);
    if (!labels) {
      const method = METHODS.has(rawMethod) ? rawMethod : OTHER_METHOD;
      byStatus.set(status, (labels = { method, route, status_code: String(status) }));
    }
    return labels;
  }
}

/**
 * The matched route template (never the raw URL): bounded by the routes the code declares. Nest mounts
 * `forRoutes('*')` middleware (nestjs-pino's) as a wildcard Express route, which leaves `req.route` set to
 * `{/*splat}` when no controller route matched; our controllers declare no wildcard routes, so a wildcard
 * path means "unmatched".
 */
function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string' || route.path.includes('*')) return UNMATCHED_ROUTE;
  return req.baseUrl ? req.baseUrl + route.path : route.path;
}
