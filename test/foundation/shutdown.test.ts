import { request } from 'node:http';
import { createTestDatabase } from '../support/database.js';
import { spawnApp } from '../support/spawn-app.js';

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the in-flight request, refuses new connections, and exits 0', async () => {
    const database = await createTestDatabase();
    try {
      const app = await spawnApp({ DATABASE_URL: database.url, EVENT_BUS_PREFIX: `shutdown${Date.now()}` });
      // A request whose body arrives slowly is in flight while the signal comes.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${app.url}/no-such-route`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '2' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.write('{');
        setTimeout(() => req.end('}'), 700);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      app.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(fetch(`${app.url}/health/live`)).rejects.toThrow();

      const answered = await response;
      expect(answered.status).toBe(404); // the request ran through the app to its JSON answer
      expect(JSON.parse(answered.body)).toMatchObject({ statusCode: 404 });
      const { code, signal } = await app.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      await database.drop();
    }
  });

  it('stops with a message naming the variable when configuration is wrong', async () => {
    await expect(spawnApp({ PORT: 'x', DATABASE_URL: 'mysql://nope' })).rejects.toThrow(/PORT[\s\S]*DATABASE_URL must be a postgres/);
  });
});
