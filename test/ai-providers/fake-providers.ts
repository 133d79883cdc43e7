import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AiProvider } from '../../src/db/schema.js';

/**
 * How the fake answers a key: `ok` with the provider's real success shape; `hang` never answers; `not_json`,
 * `wrong_shape` and `huge` (2 MB) are 200s that are not what was asked for; `server_error` is a 503;
 * `redirect` points elsewhere on this server. A key the fake was never told about is rejected the way the
 * real provider rejects an invalid key.
 */
export type Behaviour = 'ok' | 'hang' | 'not_json' | 'wrong_shape' | 'huge' | 'server_error' | 'redirect';

/** Where `redirect` points; any request arriving there is recorded with provider 'redirected'. */
export const REDIRECT_TARGET = '/collect-the-key';
const HUGE_BODY_BYTES = 2 * 1024 * 1024;

export interface SeenRequest {
  provider: AiProvider | 'redirected';
  url: string;
  key: string | undefined;
}

interface Route {
  provider: AiProvider;
  key(req: IncomingMessage): string | undefined;
  ok: unknown;
  rejected(key: string | undefined): { status: number; body: unknown };
}

const bearer = (req: IncomingMessage) => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];

/** The real endpoints' paths, auth headers and shapes, as the public APIs document them. */
const ROUTES: Record<string, Route> = {
  '/claude/v1/models?limit=1': {
    provider: 'claude',
    key: (req) => (req.headers['anthropic-version'] ? (req.headers['x-api-key'] as string | undefined) : undefined),
    ok: { data: [{ id: 'claude-sonnet-4-5', type: 'model' }], has_more: true, first_id: 'a', last_id: 'a' },
    rejected: () => ({ status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } }),
  },
  '/openai/v1/models': {
    provider: 'openai',
    key: bearer,
    ok: { object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] },
    // OpenAI really does echo (part of) the key in its message; this fake echoes all of it.
    rejected: (key) => ({
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    }),
  },
  '/gemini/v1beta/models?pageSize=1': {
    provider: 'gemini',
    key: (req) => req.headers['x-goog-api-key'] as string | undefined,
    ok: { models: [{ name: 'models/gemini-2.0-flash' }], nextPageToken: 'next' },
    rejected: () => ({
      status: 400,
      body: {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
        },
      },
    }),
  },
  '/deepseek/models': {
    provider: 'deepseek',
    key: bearer,
    ok: { object: 'list', data: [{ id: 'deepseek-chat', object: 'model' }] },
    rejected: (key) => ({
      status: 401,
      body: { error: { message: `Authentication Fails, Your api key: ${key} is invalid`, type: 'authentication_error', code: 'invalid_request_error' } },
    }),
  },
  '/openrouter/api/v1/key': {
    provider: 'openrouter',
    key: bearer,
    ok: { data: { label: 'sk-or-v1-abc...xyz', usage: 0, limit: null, is_free_tier: false } },
    rejected: () => ({ status: 401, body: { error: { message: 'No auth credentials found', code: 401 } } }),
  },
};

export class FakeProviders {
  readonly requests: SeenRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private inFlight = 0;
  /** The most requests this server was answering at one time. */
  maxInFlight = 0;
  /** Delay before answering, so concurrent checks overlap. */
  delayMs = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeProviders> {
    const server = createServer();
    const fake = new FakeProviders(server);
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** AI_PROVIDER_<NAME>_BASE_URL for every provider, pointing at this server. */
  get env(): Record<string, string> {
    return {
      AI_PROVIDER_CLAUDE_BASE_URL: `${this.url}/claude`,
      AI_PROVIDER_OPENAI_BASE_URL: `${this.url}/openai/`,
      AI_PROVIDER_GEMINI_BASE_URL: `${this.url}/gemini`,
      AI_PROVIDER_DEEPSEEK_BASE_URL: `${this.url}/deepseek`,
      AI_PROVIDER_OPENROUTER_BASE_URL: `${this.url}/openrouter/api`,
    };
  }

  /** A fresh key the fake answers with the given behaviour. */
  key(behaviour: Behaviour = 'ok'): string {
    const key = `sk-test-${randomBytes(18).toString('hex')}`;
    this.behaviours.set(key, behaviour);
    return key;
  }

  set(key: string, behaviour: Behaviour): void {
    this.behaviours.set(key, behaviour);
  }

  requestsWith(key: string): SeenRequest[] {
    return this.requests.filter((r) => r.key === key);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === REDIRECT_TARGET) {
      this.requests.push({ provider: 'redirected', url: req.url, key: (req.headers['x-api-key'] ?? req.headers['x-goog-api-key'] ?? bearer(req)) as string | undefined });
      return json(res, 200, { data: [], models: [] });
    }
    const route = ROUTES[req.url ?? ''];
    if (!route || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const key = route.key(req);
    this.requests.push({ provider: route.provider, url: req.url!, key });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));

    const behaviour = key === undefined ? undefined : this.behaviours.get(key);
    if (behaviour === 'hang') return;
    if (behaviour === undefined) return json(res, route.rejected(key).status, route.rejected(key).body);
    if (behaviour === 'ok') return json(res, 200, route.ok);
    if (behaviour === 'wrong_shape') return json(res, 200, { unexpected: true });
    if (behaviour === 'server_error') return json(res, 503, { error: { type: 'overloaded_error', message: 'try later' } });
    if (behaviour === 'redirect') {
      res.writeHead(302, { location: `${this.url}${REDIRECT_TARGET}` }).end();
      return;
    }
    if (behaviour === 'huge') {
      return json(res, 200, { data: [{ id: 'x'.repeat(HUGE_BODY_BYTES) }] });
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome to the captive portal</body></html>');
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
