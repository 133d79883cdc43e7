import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerProcess } from './proc.js';
import { sleep } from './proc.js';

const WAIT_MS = 5_000;
const POLL_MS = 20;

/** Sends SIGUSR2 to a server whose preload answers by (re)writing `file` with JSON, and reads it. */
export async function readOnSignal<T>(server: ServerProcess, file: string): Promise<T> {
  const before = existsSync(file) ? statSync(file).mtimeMs : 0;
  server.signal('SIGUSR2');
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (existsSync(file) && statSync(file).mtimeMs !== before) break;
    await sleep(POLL_MS);
  }
  // The write is synchronous in the server, but the mtime can change before the content is complete on disk.
  await sleep(POLL_MS);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
