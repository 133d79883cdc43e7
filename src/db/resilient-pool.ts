import pg from 'pg';
import { unavailableDependency } from '../common/dependency-error.js';

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: Error | boolean) => void) => void;

/**
 * A pg.Pool whose checked-out clients give themselves back when their connection is lost.
 *
 * Drizzle's node-postgres transaction() checks a client out, runs BEGIN before its try/finally and releases
 * without an error (drizzle-orm#6241, still open in 0.45). So a BEGIN on a connection that had just died
 * leaked the client for good: a database outage shrank the pool a client at a time (503s for ever once it
 * was empty, however healthy PostgreSQL was again) and pool.end() at shutdown waited for ever. And a client
 * whose query hit query_timeout went back to the pool with its statement still running.
 *
 * Also, pg-pool listens for 'error' on idle clients only: a checked-out client (a transaction between two
 * statements) that lost its server emitted 'error' with no listener, an uncaught exception that killed the
 * process during a database outage.
 *
 * Here a checked-out client that loses its connection (an 'error' event, now always heard) or fails a query
 * for a connection reason (the classification behind the 503 answers) is released at once, with that error, so
 * the pool discards it. Release becomes idempotent: the caller's own release() afterwards (drizzle's finally)
 * does nothing.
 */
export class ResilientPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const guarded = super.connect().then(releaseWhenLost);
    if (!callback) return guarded;
    guarded.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }
}

function releaseWhenLost(client: pg.PoolClient): pg.PoolClient {
  const release = client.release;
  const query = client.query;
  let released = false;
  const releaseOnce = (error?: Error | boolean): void => {
    if (released) return;
    released = true;
    client.removeListener('error', onLost);
    client.query = query;
    release(error);
  };
  const onLost = (error: Error) => releaseOnce(error);
  client.on('error', onLost);
  client.query = function (...args: unknown[]) {
    const result = (query as (...a: unknown[]) => unknown).apply(client, args);
    if (typeof (result as Promise<unknown> | undefined)?.catch === 'function') {
      // A side branch only: the caller still gets the rejection of `result` itself.
      (result as Promise<unknown>).catch((error: unknown) => {
        if (unavailableDependency(error) === 'postgres') releaseOnce(error as Error);
      });
    }
    return result;
  } as typeof client.query;
  client.release = releaseOnce;
  return client;
}
