import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LOG_DIR } from './paths.js';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** User + system CPU time of a process (all its threads), in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

export interface ServerOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** Path that answers 200 once the server is ready. */
  readyPath?: string;
}

/** Children still running, killed if the runner itself exits early (an error, Ctrl-C) so none is left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A server under test in its own process, so its CPU time can be read from /proc without the load generator's. */
export class ServerProcess {
  private exited = false;
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    running.add(child);
    child.once('exit', () => {
      this.exited = true;
      running.delete(child);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    mkdirSync(LOG_DIR, { recursive: true });
    const port = await freePort();
    const logFile = join(LOG_DIR, `${options.name}.log`);
    const log = openSync(logFile, 'w');
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
      env: { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', log, log],
    });
    const server = new ServerProcess(options.name, port, child, logFile);
    await server.waitReady(options.readyPath ?? '/health/live');
    return server;
  }

  private async waitReady(path: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited) break;
      try {
        const response = await fetch(this.url + path);
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(POLL_MS);
    }
    await this.stop();
    const tail = readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`${this.name} did not become ready on port ${this.port}; log tail:\n${tail}`);
  }

  cpuMicros(): number {
    return cpuMicros(this.pid);
  }

  rssBytes(): number {
    return rssBytes(this.pid);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
