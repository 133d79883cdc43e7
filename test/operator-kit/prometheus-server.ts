import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/redis-server.js';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 100;
const STDERR_KEPT_CHARS = 20_000;

export interface PrometheusOptions {
  /** host:port of the API's /metrics. */
  target: string;
  /** Job name; the shipped alert rules select job="hyvve-api". */
  job?: string;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
  /** Bearer token sent on scrapes (written to a credentials file, as in production). */
  bearerToken?: string;
  /** Scrape and rule evaluation interval. */
  interval?: string;
}

/** A JSON answer of the Prometheus HTTP API. */
export interface ApiAnswer<T = unknown> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryResult =
  | { resultType: 'vector'; result: Sample[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] };

/**
 * A real Prometheus server (the Debian `prometheus` binary) on a free loopback port, with its config and
 * TSDB in a temporary directory that stop() removes.
 */
export class PrometheusServer {
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly process: ChildProcess,
    readonly url: string,
    readonly dir: string,
  ) {
    process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEPT_CHARS);
    });
    process.once('exit', () => {
      this.exited = true;
    });
  }

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'hyvve-prometheus-'));
    const interval = options.interval ?? '1s';
    const scrape: Record<string, unknown> = {
      job_name: options.job ?? 'hyvve-api',
      metrics_path: '/metrics',
      scrape_interval: interval,
      scrape_timeout: interval,
      static_configs: [{ targets: [options.target] }],
    };
    if (options.bearerToken) {
      const credentials = join(dir, 'metrics-token');
      writeFileSync(credentials, options.bearerToken, { mode: 0o600 });
      scrape.authorization = { type: 'Bearer', credentials_file: credentials };
    }
    // YAML is a superset of JSON, so the config is written as JSON.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [scrape],
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));

    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const server = new PrometheusServer(child, `http://127.0.0.1:${port}`, dir);
    try {
      await server.waitReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** What Prometheus logged (warnings and errors), for failure messages. */
  get log(): string {
    return this.stderr;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`prometheus exited during start-up:\n${this.stderr}`);
      const ready = await fetch(`${this.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      await sleep(POLL_MS);
    }
    throw new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms:\n${this.stderr}`);
  }

  async api<T>(path: string, params: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return (await response.json()) as ApiAnswer<T>;
  }

  async get<T>(path: string): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.url}${path}`);
    return (await response.json()) as ApiAnswer<T>;
  }

  /** An instant query at the current time. */
  query(expr: string): Promise<ApiAnswer<QueryResult>> {
    return this.api<QueryResult>('/api/v1/query', { query: expr });
  }

  /** Every sample name in the TSDB. */
  async metricNames(): Promise<Set<string>> {
    const answer = await this.get<string[]>('/api/v1/label/__name__/values');
    if (answer.status !== 'success') throw new Error(`label values failed: ${answer.error}`);
    return new Set(answer.data);
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
