import {
  Injectable,
  Module,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { InjectMetric, makeCounterProvider, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { Request, Response } from 'express';
import type { Counter, Histogram } from 'prom-client';
import { finalize, type Observable } from 'rxjs';
import { LiveController, startPeer } from './common.js';

/**
 * Peer (b): @willsoto/nestjs-prometheus (registry, default metrics, /metrics controller) with the hand-written
 * interceptor its maintainers point users to for HTTP metrics: a histogram timer and a counter, recorded when
 * the handler's observable finalizes.
 */
@Injectable()
class HttpMetricsInterceptor implements NestInterceptor {
  constructor(
    @InjectMetric('http_request_duration_seconds') private readonly duration: Histogram<string>,
    @InjectMetric('http_requests_total') private readonly requests: Counter<string>,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const end = this.duration.startTimer();
    return next.handle().pipe(
      finalize(() => {
        const labels = { method: req.method, route: (req.route as { path?: string } | undefined)?.path ?? req.path, status_code: res.statusCode };
        end(labels);
        this.requests.inc(labels);
      }),
    );
  }
}

const labelNames = ['method', 'route', 'status_code'];

@Module({
  imports: [PrometheusModule.register({ defaultMetrics: { enabled: true } })],
  controllers: [LiveController],
  providers: [
    makeHistogramProvider({ name: 'http_request_duration_seconds', help: 'HTTP request duration', labelNames }),
    makeCounterProvider({ name: 'http_requests_total', help: 'HTTP requests', labelNames }),
    { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
  ],
})
class WillsotoModule {}

await startPeer(WillsotoModule);
