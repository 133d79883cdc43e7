import { describeError, isDrizzleQueryError, stackFrames } from '../common/describe-error.js';
import { redactSecrets } from '../common/redact.js';

/** Bounds for what a handler's error may put into EventMetadata, the DLQ and the logs. */
export const MAX_ERROR_MESSAGE_LENGTH = 1000;
export const MAX_ERROR_STACK_LINES = 12;
const MAX_STACK_LENGTH = 4000;

const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export interface SanitizedError {
  message: string;
  stack: string;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * What we keep of an error thrown by a handler: one line of message and a short stack, with anything that
 * looks like a credential removed. Drizzle puts query parameters into its message, so for its errors only
 * the driver's own error is kept.
 */
export function sanitizeError(error: unknown): SanitizedError {
  const e = error as { name?: unknown; message?: unknown; stack?: unknown; cause?: { message?: unknown; code?: unknown } };
  let message: string;
  if (isDrizzleQueryError(error)) {
    message = describeError(error);
  } else if (error instanceof Error || (typeof e?.message === 'string' && e.message)) {
    message = `${typeof e.name === 'string' ? e.name : 'Error'}: ${String(e.message)}`;
  } else {
    message = `Non-error thrown: ${String(error)}`;
  }
  message = truncate(redactSecrets(message.replace(/\s+/g, ' ').replace(CONTROL_CHARACTERS, '')), MAX_ERROR_MESSAGE_LENGTH);
  // Frames only: a multi-line message (Drizzle's ends in "params: ...") must not reach the stored stack.
  const stack = truncate(redactSecrets(stackFrames(error, MAX_ERROR_STACK_LINES).replace(CONTROL_CHARACTERS, '')), MAX_STACK_LENGTH);
  return { message, stack };
}
