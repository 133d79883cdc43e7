import type { TestApp } from '../support/test-app.js';

/** The forms a key could leak in: as is, its random part (without the fixed prefix), base64, base64url, hex. */
function forms(key: string): string[] {
  const random = key.replace(/^sk-test-/, '');
  return [key, random, ...[key, random].flatMap((s) => ['base64', 'base64url', 'hex'].map((e) => Buffer.from(s).toString(e as BufferEncoding)))];
}

export function expectNoKeyIn(text: string, keys: Iterable<string>, where: string): void {
  for (const key of keys) {
    for (const form of forms(key)) expect(text.includes(form), `an API key (or an encoding of it) appears in ${where}`).toBe(false);
  }
}

const apps: TestApp[] = [];

/**
 * nestjs-pino keeps one root logger per process, so every app a test file starts logs into the capture of the
 * first one. Tests register their apps here and look at all captures together.
 */
export function tracked(t: TestApp): TestApp {
  apps.push(t);
  // pool.end() resolves before its connections have closed; when close() then drops the database, a
  // connection still closing gets "terminating connection" and an unheard pool 'error' would crash the file.
  t.pool.on('error', () => undefined);
  return t;
}

export function capturedLogs(): string {
  return apps.map((t) => t.logs.text).join('\n');
}

export async function eventStreamText(t: TestApp): Promise<string> {
  const entries = await t.redis.xrange(`${t.prefix}:events:main`, '-', '+');
  return JSON.stringify(entries);
}

/** Every place a key must never be: the logs, the event stream and the database outside the encrypted column. */
export async function expectNoKeyAnywhere(t: TestApp, keys: Iterable<string>): Promise<void> {
  const list = [...keys];
  expectNoKeyIn(capturedLogs(), list, 'the logs');
  expectNoKeyIn(await eventStreamText(t), list, 'the event stream');
  const rows = await t.pool.query('SELECT * FROM ai_provider_configs');
  expectNoKeyIn(JSON.stringify(rows.rows), list, 'the ai_provider_configs table');
  const events = await t.pool.query('SELECT * FROM event_metadata');
  expectNoKeyIn(JSON.stringify(events.rows), list, 'event_metadata');
}
