import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Request } from 'express';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
const IN_FLIGHT = Symbol('metricsInFlight');
type TimedRequest = IncomingMessage & { [STARTED_AT]?: number };
type TrackedSocket = Socket & { [IN_FLIGHT]?: Set<ServerResponse> };
interface ServerMessage {
  request: TimedRequest;
  response: ServerResponse;
  socket: TrackedSocket;
  server: Server;
}

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';
const METHODS = new Set<string>(STANDARD_METHODS);
const METRICS_PATH_WITH_QUERY = `${METRICS_PATH}?`;

/**
 * HTTP timing, taken from Node's own HTTP diagnostics channels rather than a Nest interceptor: a Nest
 * interceptor never sees requests that guards reject (401/403), that match no route (404) or whose status an
 * exception filter sets. Node publishes `http.server.request.start` and `http.server.response.finish` for every
 * request of every server; we keep ours (by server) and record when the response finishes, by which time
 * Express has set `req.route`. A client abort has no finish: the socket's `close` (one listener per
 * connection, not per request) records the requests still open on it with status 499.
 *
 * Why channels and not a listener per response: measured on Express 5 (bench/, README "Performance"), a
 * `close` listener on every response cost about 15 µs per request; the channels cost about 6 µs.
 * Label objects are cached per (route, method, status), so recording is three Map lookups plus prom-client's
 * observe and inc.
 */
@Injectable()
export class HttpMetricsInterceptor implements OnApplicationShutdown {
  readonly enabled: boolean;
  private readonly duration?: Histogram<HttpLabel>;
  private readonly requests?: Counter<HttpLabel>;
  private readonly labelCache = new Map<string, Map<string, Map<number, HttpLabels>>>();
  private inFlight = 0;
  private server?: Server;

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

  attach(server: Server): void {
    this.server = server;
    diagnostics.subscribe(REQUEST_START, this.onRequestStart);
    diagnostics.subscribe(RESPONSE_FINISH, this.onResponseFinish);
  }

  onApplicationShutdown(): void {
    if (!this.server) return;
    diagnostics.unsubscribe(REQUEST_START, this.onRequestStart);
    diagnostics.unsubscribe(RESPONSE_FINISH, this.onResponseFinish);
  }

  private readonly onRequestStart = (message: unknown): void => {
    const { request, response, socket, server } = message as ServerMessage;
    if (server !== this.server) return;
    const url = request.url!;
    if (url === METRICS_PATH || url.startsWith(METRICS_PATH_WITH_QUERY)) return;
    request[STARTED_AT] = performance.now();
    this.inFlight++;
    let open = socket[IN_FLIGHT];
    if (!open) {
      open = socket[IN_FLIGHT] = new Set();
      socket.once('close', this.onSocketClose);
    }
    open.add(response);
  };

  private readonly onResponseFinish = (message: unknown): void => {
    const { request, response, socket, server } = message as ServerMessage;
    if (server !== this.server || request[STARTED_AT] === undefined) return;
    socket[IN_FLIGHT]?.delete(response);
    this.record(request, response.statusCode);
  };

  /** Responses still open when their connection closes were aborted by the client. */
  private readonly onSocketClose = (() => {
    const interceptor = this;
    return function (this: TrackedSocket): void {
      const open = this[IN_FLIGHT];
      if (!open) return;
      for (const response of open) interceptor.record(response.req as TimedRequest, CLIENT_CLOSED_STATUS);
      open.clear();
    };
  })();

  private record(req: TimedRequest, status: number): void {
    this.inFlight--;
    const seconds = (performance.now() - req[STARTED_AT]!) / 1000;
    const labels = this.labelsFor(routeOf(req as Request), req.method!, status);
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
