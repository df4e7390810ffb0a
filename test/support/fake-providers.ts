import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProvider {
  url: string;
  /** Every request seen: method, path (with query) and the credential headers. */
  requests: Array<{ method: string; path: string; userAgent: string; authorization?: string; apiKeyHeader?: string }>;
  close(): Promise<void>;
}

/**
 * A stand-in for OpenAI- and Anthropic-style APIs on loopback: `GET /v1/models` answers 200 for
 * the accepted keys and 401 otherwise — echoing the rejected key in the error message the way
 * some real providers do, so tests can prove Folio never passes provider text on.
 */
export async function startFakeProvider(accepted: () => readonly string[]): Promise<FakeProvider> {
  const requests: FakeProvider['requests'] = [];
  const server = http.createServer((req, res) => {
    const authorization = req.headers.authorization;
    const apiKeyHeader = (req.headers['x-api-key'] ?? req.headers['api-key']) as string | undefined;
    requests.push({ method: req.method ?? '', path: req.url ?? '', userAgent: req.headers['user-agent'] ?? '', ...(authorization ? { authorization } : {}), ...(apiKeyHeader ? { apiKeyHeader } : {}) });
    const key = apiKeyHeader ?? authorization?.replace(/^Bearer /, '') ?? '';
    res.setHeader('content-type', 'application/json');
    if (!req.url?.startsWith('/v1/models')) {
      res.writeHead(404).end('{"error":{"message":"not found"}}');
      return;
    }
    if (!accepted().includes(key)) {
      res.writeHead(401).end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
      return;
    }
    res.writeHead(200).end(
      JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 0, owned_by: 'fake', type: 'model', display_name: 'fake', created_at: '2025-01-01T00:00:00Z' }], has_more: false, first_id: 'gpt-4o', last_id: 'gpt-4o' }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
