import type { Env } from '../config/config.schema.js';
import type { AiProvider } from '../db/schema.js';
import type { HealthCheckOutcome } from './ai-provider.telemetry.js';

/**
 * The cheapest authenticated request per provider: a read-only listing that costs no tokens, needs a valid key,
 * and answers with a small, stable JSON shape. Paths are relative to AI_PROVIDER_<NAME>_BASE_URL.
 */
interface ProbeSpec {
  path: string;
  headers(apiKey: string): Record<string, string>;
  /** What a successful answer must contain, checked so a captive portal or proxy page is not "healthy". */
  expected: { field: string; kind: 'array' | 'object' };
  /** Statuses (besides 401 and 403) the provider uses for a rejected key, with the error reason that says so. */
  rejectedKey?: { status: number; reason: string };
}

const bearer = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });
const ANTHROPIC_VERSION = '2023-06-01';

export const PROBES: Record<AiProvider, ProbeSpec> = {
  // Models API; `limit=1` keeps the answer to one entry.
  claude: {
    path: '/v1/models?limit=1',
    headers: (apiKey) => ({ 'x-api-key': apiKey, 'anthropic-version': ANTHROPIC_VERSION }),
    expected: { field: 'data', kind: 'array' },
  },
  // Has no paging parameters; the list is a few kilobytes.
  openai: { path: '/v1/models', headers: bearer, expected: { field: 'data', kind: 'array' } },
  // The key goes in a header, never the URL (`?key=`), so it cannot reach a log line or an error message.
  // Google answers an invalid key with 400 INVALID_ARGUMENT / API_KEY_INVALID rather than 401.
  gemini: {
    path: '/v1beta/models?pageSize=1',
    headers: (apiKey) => ({ 'x-goog-api-key': apiKey }),
    expected: { field: 'models', kind: 'array' },
    rejectedKey: { status: 400, reason: 'API_KEY_INVALID' },
  },
  deepseek: { path: '/models', headers: bearer, expected: { field: 'data', kind: 'array' } },
  // OpenRouter's model list is public, so it proves nothing; the key endpoint describes the calling key.
  openrouter: { path: '/v1/key', headers: bearer, expected: { field: 'data', kind: 'object' } },
};

const BASE_URL_VARIABLES: Record<AiProvider, keyof Env> = {
  claude: 'AI_PROVIDER_CLAUDE_BASE_URL',
  openai: 'AI_PROVIDER_OPENAI_BASE_URL',
  gemini: 'AI_PROVIDER_GEMINI_BASE_URL',
  deepseek: 'AI_PROVIDER_DEEPSEEK_BASE_URL',
  openrouter: 'AI_PROVIDER_OPENROUTER_BASE_URL',
};

/** Only ever built from configuration: a request cannot choose where its key is sent (no SSRF). */
export function probeUrl(env: Env, provider: AiProvider): string {
  const base = String(env[BASE_URL_VARIABLES[provider]]).replace(/\/+$/, '');
  return base + PROBES[provider].path;
}

/** Enough for any of the answers above; a larger body is not what we asked for. */
const MAX_BODY_BYTES = 1024 * 1024;
/** A provider error code is echoed only when it looks like one (e.g. invalid_api_key), never free text. */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const SAFE_SYSTEM_CODE = /^[A-Z][A-Z0-9_]{0,39}$/;
const REDACTED = '[redacted]';

export interface ProbeResult {
  outcome: HealthCheckOutcome;
  /** Short, sanitised: our own wording, the HTTP status and at most a provider error code. Absent on success. */
  error?: string;
  latencyMs: number;
}

/** The check was cut short because the application is stopping; nothing should be recorded. */
export class ProbeInterruptedError extends Error {
  constructor() {
    super('provider health check interrupted by shutdown');
    this.name = 'ProbeInterruptedError';
  }
}

export interface ProbeOptions {
  url: string;
  timeoutMs: number;
  /** Aborted when the application stops. */
  stop: AbortSignal;
}

/** One request with the key; never throws except ProbeInterruptedError. */
export async function probeProvider(provider: AiProvider, apiKey: string, options: ProbeOptions): Promise<ProbeResult> {
  const spec = PROBES[provider];
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.stop]);
  let result: Omit<ProbeResult, 'latencyMs'>;
  try {
    const response = await fetch(options.url, {
      method: 'GET',
      headers: { accept: 'application/json', ...spec.headers(apiKey) },
      // A redirect would carry custom key headers (x-api-key, x-goog-api-key) to wherever it points.
      redirect: 'manual',
      signal,
    });
    const body = await readCapped(response);
    result = classifyResponse(spec, response.status, body);
  } catch (error) {
    if (options.stop.aborted) throw new ProbeInterruptedError();
    result = classifyFailure(error, options.timeoutMs);
  }
  const latencyMs = elapsed();
  // Our wording never contains the key; this is the last line of defence should a code ever echo it.
  const error = result.error?.split(apiKey).join(REDACTED);
  return error === undefined ? { outcome: result.outcome, latencyMs } : { outcome: result.outcome, error, latencyMs };
}

async function readCapped(response: Response): Promise<string | undefined> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function classifyResponse(spec: ProbeSpec, status: number, body: string | undefined): Omit<ProbeResult, 'latencyMs'> {
  const json = parseJson(body);
  if (status >= 200 && status < 300) {
    if (body === undefined) return { outcome: 'bad_response', error: `HTTP ${status}: body larger than ${MAX_BODY_BYTES} bytes` };
    if (json === undefined) return { outcome: 'bad_response', error: `HTTP ${status}: body is not JSON` };
    const value = isObject(json) ? json[spec.expected.field] : undefined;
    const shaped = spec.expected.kind === 'array' ? Array.isArray(value) : isObject(value);
    if (!shaped) {
      const what = spec.expected.kind === 'array' ? 'list' : 'object';
      return { outcome: 'bad_response', error: `HTTP ${status}: JSON without the expected "${spec.expected.field}" ${what}` };
    }
    return { outcome: 'success' };
  }
  const codes = errorCodes(json);
  const suffix = codes.length > 0 ? ` (${codes[0]})` : '';
  if (status === 401 || status === 403 || (status === spec.rejectedKey?.status && codes.includes(spec.rejectedKey.reason))) {
    return { outcome: 'unauthorized', error: `HTTP ${status}: the provider rejected the API key${suffix}` };
  }
  if (status >= 300 && status < 400) return { outcome: 'bad_response', error: `HTTP ${status}: redirect not followed` };
  if (status === 429) return { outcome: 'bad_response', error: `HTTP 429: rate limited or out of quota${suffix}` };
  return { outcome: 'bad_response', error: `HTTP ${status}: unexpected status${suffix}` };
}

/**
 * Machine-readable error codes from the providers' error bodies, most specific first: Gemini's
 * details[].reason, then error.code (OpenAI, DeepSeek), error.type (Anthropic) and error.status (Google).
 * Messages are never used: they are free text and some echo part of the key.
 */
function errorCodes(json: unknown): string[] {
  const error = isObject(json) ? json.error : undefined;
  if (!isObject(error)) return [];
  const details = Array.isArray(error.details) ? error.details.filter(isObject).map((d) => d.reason) : [];
  return [...details, error.code, error.type, error.status].filter(
    (code): code is string => typeof code === 'string' && SAFE_CODE.test(code),
  );
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
};

function classifyFailure(error: unknown, timeoutMs: number): Omit<ProbeResult, 'latencyMs'> {
  if ((error as Error)?.name === 'TimeoutError') {
    return { outcome: 'timeout', error: `no answer within ${timeoutMs} ms` };
  }
  const code = systemCode(error);
  if (code === undefined) return { outcome: 'unreachable', error: 'cannot connect: network error' };
  const reason = NETWORK_REASONS[code] ?? (/CERT|TLS|SSL/.test(code) ? 'TLS handshake failed' : 'network error');
  return { outcome: 'unreachable', error: `cannot connect: ${reason} (${code})` };
}

/** fetch wraps the socket error: TypeError('fetch failed') → cause (→ cause) with a system code. */
function systemCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && SAFE_SYSTEM_CODE.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
