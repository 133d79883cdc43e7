import { DrizzleQueryError } from 'drizzle-orm';

const FAILED_QUERY_PREFIX = 'Failed query: ';
const STACK_FRAME = /^\s+at /;

/**
 * Drizzle wraps every driver error in a DrizzleQueryError whose message (and therefore the first lines of its
 * stack) holds the SQL and its parameters: request data, workspace ids, token hashes, API key ciphertexts. Its
 * `name` is the plain "Error", so a name check never finds it; this one does.
 */
export function isDrizzleQueryError(error: unknown): error is DrizzleQueryError & { cause?: { code?: unknown; message?: unknown } } {
  if (error instanceof DrizzleQueryError) return true;
  const e = error as { message?: unknown; params?: unknown };
  return typeof e?.message === 'string' && e.message.startsWith(FAILED_QUERY_PREFIX) && 'params' in e;
}

/**
 * One line saying what went wrong, safe to log or store: for a query error the driver's SQLSTATE and message
 * only (never the query's parameters).
 */
export function describeError(error: unknown): string {
  if (isDrizzleQueryError(error)) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    return `DrizzleQueryError: ${String(cause?.code ?? '')} ${String(cause?.message ?? 'query failed')}`.replace(/\s+/g, ' ').trim();
  }
  const e = error as { name?: unknown; message?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  return `${name}: ${typeof e?.message === 'string' ? e.message : String(error)}`;
}

/**
 * The first `max` frames of the error's stack ("    at ..." lines). Messages can span several lines (Drizzle's
 * does: "params: ..."), so slicing the stack after its first line is not enough to leave the message out.
 */
export function stackFrames(error: unknown, max: number): string {
  const stack = (error as { stack?: unknown })?.stack;
  if (typeof stack !== 'string') return '';
  return stack
    .split('\n')
    .filter((line) => STACK_FRAME.test(line))
    .slice(0, max)
    .join('\n');
}
