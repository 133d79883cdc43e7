import { Agent, get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { sleep } from './proc.js';

/** One keep-alive connection, like a Prometheus server's. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

export interface Scrape {
  ms: number;
  /** Bytes on the wire (compressed when gzip was asked for). */
  bytes: number;
  body: string;
}

/** Prometheus asks for gzip on every scrape; `gzip: false` gives the plain-text cost. */
export interface ScrapeOptions {
  gzip?: boolean;
}

/** GET /metrics, timed from sending the request to receiving the last byte of the body. */
export function scrapeOnce(baseUrl: string, options: ScrapeOptions = {}): Promise<Scrape> {
  return timedGet(baseUrl, '/metrics', options);
}

/** A timed GET over the same keep-alive connection (also used on other paths, for scale). */
export function timedGet(baseUrl: string, path: string, { gzip = false }: ScrapeOptions = {}): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers = gzip ? { 'accept-encoding': 'gzip' } : {};
    get(`${baseUrl}${path}`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) return reject(new Error(`${path} answered ${res.statusCode}`));
        const wire = Buffer.concat(chunks);
        const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
        resolve({ ms, bytes: wire.length, body: body.toString('utf8') });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Samples in an exposition (every line that is not a comment), i.e. the number of series. */
export function seriesCount(body: string): number {
  let count = 0;
  for (const line of body.split('\n')) if (line && !line.startsWith('#')) count++;
  return count;
}

/** The value of an unlabelled sample, e.g. process_resident_memory_bytes. */
export function sampleValue(body: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * Scrapes `count` times, one at a time, `intervalMs` apart (start to start), each scrape followed by a GET of a
 * trivial route over the same connection: the pair sees the same machine at the same moment, so "scrape minus probe" is the scrape's own cost with most of
 * the shared machine's noise (and the HTTP round trip) taken out.
 */
export async function scrapeWithProbes(
  baseUrl: string,
  count: number,
  intervalMs: number,
  options: ScrapeOptions & { probePath: string },
): Promise<{ times: number[]; probes: number[]; last: Scrape }> {
  const times: number[] = [];
  const probes: number[] = [];
  let last: Scrape | undefined;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    last = await timedGet(baseUrl, '/metrics', options);
    times.push(last.ms);
    probes.push((await timedGet(baseUrl, options.probePath)).ms);
    const wait = intervalMs - (performance.now() - started);
    if (wait > 0) await sleep(wait);
  }
  return { times, probes, last: last! };
}
