import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the AI providers' model-listing endpoints (the real ones are out of reach here):
 * answers like OpenAI (`Authorization: Bearer`) and Anthropic (`x-api-key`) do, accepting only `goodKey`.
 */
export class FakeAiProvider {
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly goodKey: string,
  ) {}

  static async start(goodKey: string): Promise<FakeAiProvider> {
    let provider: FakeAiProvider | undefined;
    const server = createServer((req, res) => {
      if (provider) provider.requests++;
      const ok = presentedKey(req) === goodKey;
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      res.setHeader('content-type', 'application/json');
      if (path !== '/v1/models') {
        res.writeHead(404).end(JSON.stringify({ error: { code: 'not_found' } }));
      } else if (!ok) {
        res.writeHead(401).end(JSON.stringify({ error: { code: 'invalid_api_key', type: 'authentication_error' } }));
      } else {
        res.writeHead(200).end(JSON.stringify({ data: [{ id: 'fake-model', object: 'model' }] }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    provider = new FakeAiProvider(server, `http://127.0.0.1:${port}`, goodKey);
    return provider;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function presentedKey(req: IncomingMessage): string | undefined {
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey;
  return req.headers.authorization?.replace(/^Bearer /, '');
}
