import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeMode =
  | { kind: 'ok'; text?: string; inputTokens?: number; outputTokens?: number; delayMs?: number }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'server_error' }
  | { kind: 'malformed' }
  | { kind: 'hang' }
  | { kind: 'unauthorized' };

export interface FakeVision {
  url: string;
  calls: Array<{ path: string; model: string; authorization: string; at: number; imageBytes: number }>;
  /** The answer to the next calls (a queue; the last mode repeats). */
  modes: FakeMode[];
  close(): Promise<void>;
}

/**
 * A loopback stand-in for OpenAI chat completions (`/v1/chat/completions`) and Anthropic messages
 * (`/v1/messages`) that the real SDKs talk to. Each call answers per the next mode: a transcription
 * with usage, slowly, 429 with retry-after, 500, a malformed body, a hang, or 401.
 */
export async function startFakeVision(): Promise<FakeVision> {
  const fake: FakeVision = { url: '', calls: [], modes: [{ kind: 'ok' }], close: async () => undefined };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body || '{}') as { model?: string; messages?: unknown };
      const image = /base64,([A-Za-z0-9+/=]+)|"data":"([A-Za-z0-9+/=]+)"/.exec(body);
      fake.calls.push({ path: req.url ?? '', model: parsed.model ?? '', authorization: String(req.headers.authorization ?? req.headers['x-api-key'] ?? ''), at: Date.now(), imageBytes: image ? Buffer.from(image[1] ?? image[2] ?? '', 'base64').length : 0 });
      const mode = fake.modes.length > 1 ? fake.modes.shift()! : fake.modes[0]!;
      const anthropic = req.url?.startsWith('/v1/messages') ?? false;
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      };
      switch (mode.kind) {
        case 'hang':
          return; // never answers
        case 'malformed':
          return send(200, '{"choices": [ {"message": ');
        case 'server_error':
          return send(500, { error: { message: 'upstream exploded', type: 'server_error' } });
        case 'unauthorized':
          return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
        case 'rate_limited':
          return send(429, { error: { message: 'Rate limit reached', type: 'rate_limit_error' } }, { 'retry-after': String(mode.retryAfterSeconds) });
        case 'ok': {
          const text = mode.text ?? '# Page\n\nTranscribed text.';
          const input = mode.inputTokens ?? 1000;
          const output = mode.outputTokens ?? 200;
          const answer = () =>
            anthropic
              ? send(200, { id: 'msg_1', type: 'message', role: 'assistant', model: parsed.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: output } })
              : send(200, { id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: parsed.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } });
          if (mode.delayMs) setTimeout(answer, mode.delayMs);
          else answer();
          return;
        }
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}
