import autocannon from 'autocannon';
import type { ServerProcess } from './proc.js';

export interface LoadOptions {
  path: string;
  connections: number;
  durationSeconds?: number;
  amount?: number;
  /** Run the load generator in a worker thread, leaving this thread free (e.g. to time scrapes meanwhile). */
  inWorker?: boolean;
  requests?: autocannon.Options['requests'];
  /** Requests per second across all connections (open loop); unset = as fast as the server answers. */
  overallRate?: number;
}

export function load(server: ServerProcess, options: LoadOptions): Promise<autocannon.Result> {
  // autocannon validates present-but-undefined options, so only set what was given.
  const opts: autocannon.Options = { url: server.url + options.path, connections: options.connections };
  if (options.durationSeconds !== undefined) opts.duration = options.durationSeconds;
  if (options.amount !== undefined) opts.amount = options.amount;
  if (options.requests) opts.requests = options.requests;
  if (options.inWorker) opts.workers = 1;
  if (options.overallRate !== undefined) opts.overallRate = options.overallRate;
  return autocannon(opts);
}

export interface Measurement {
  requests: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Server CPU (user + system, all threads) per request served, in microseconds. */
  cpuPerRequestUs: number;
  errors: number;
}

/**
 * One measured load window: the server's CPU time is read from /proc right before the load starts and right
 * after it ends, and divided by the responses it served in between.
 */
export async function measure(server: ServerProcess, options: LoadOptions): Promise<Measurement> {
  const cpuBefore = server.cpuMicros();
  const result = await load(server, options);
  const cpuAfter = server.cpuMicros();
  const requests = result['2xx'];
  return {
    requests,
    requestsPerSecond: requests / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    cpuPerRequestUs: (cpuAfter - cpuBefore) / requests,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}
