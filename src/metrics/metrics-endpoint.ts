import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from './metrics.service.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.types.js';

const gzipAsync = promisify(gzip);
const GZIP = /\bgzip\b/;

/**
 * Serves the exposition on plain Node request/response objects, so the same code answers on the API port
 * (through MetricsController) and on METRICS_PORT.
 */
@Injectable()
export class MetricsEndpoint {
  private readonly expectedAuthorization?: Buffer;

  constructor(
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    const token = config.env.METRICS_TOKEN;
    if (token) this.expectedAuthorization = Buffer.from(`Bearer ${token}`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req.headers.authorization)) {
      res.writeHead(401, { 'Content-Type': 'application/json; charset=utf-8', 'WWW-Authenticate': 'Bearer' });
      res.end(JSON.stringify({ statusCode: 401, message: 'A valid METRICS_TOKEN bearer token is required' }));
      return;
    }
    const text = await this.metrics.render();
    const headers: Record<string, string> = { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store', Vary: 'Accept-Encoding' };
    let body: Buffer | string = text;
    if (GZIP.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = await gzipAsync(text);
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private authorized(header: string | undefined): boolean {
    const expected = this.expectedAuthorization;
    if (!expected) return true;
    const given = Buffer.from(header ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
