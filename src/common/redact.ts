/**
 * Credentials that could end up in a message or a logged URL: bearer tokens, our API tokens, provider keys and
 * key=value secrets. Shared by the event error sanitizer and the request logger.
 */
const SECRET_PATTERNS: RegExp[] = [
  /\bBearer\s+[A-Za-z0-9_\-.~+/]+=*/gi,
  /\bhyv_[A-Za-z0-9_-]+/g,
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\bAIza[A-Za-z0-9_-]{20,}/g,
  /\b(api[_-]?key|token|secret|password|passwd|authorization)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
];
/** Query parameters whose value is never logged, whatever it looks like (access_token, x-api-key, sig, …). */
const SECRET_QUERY_KEY = /token|key|secret|pass|auth|sig|credential/i;
const REDACTED = '[redacted]';

export function redactSecrets(text: string): string {
  let result = text;
  for (const pattern of SECRET_PATTERNS) {
    // Only the key=value pattern has groups: keep its key so the message still says what was removed.
    result = result.replace(pattern, (_match, key: unknown, separator: unknown) =>
      typeof key === 'string' && typeof separator === 'string' ? `${key}${separator}${REDACTED}` : REDACTED,
    );
  }
  return result;
}

/**
 * A request URL fit for the logs: values of secret-looking query parameters and anything that looks like a
 * credential in the path (a client that put its token where an id goes) are replaced.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return redactSecrets(url);
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const key = equals === -1 ? pair : pair.slice(0, equals);
      return equals !== -1 && SECRET_QUERY_KEY.test(safeDecode(key)) ? `${key}=${REDACTED}` : pair;
    })
    .join('&');
  return redactSecrets(`${url.slice(0, queryStart)}?${query}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
