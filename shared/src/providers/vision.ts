import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { Model, Provider } from '../byok/catalog/index.ts';
import type { Secret } from '../byok/crypto/index.ts';
import { createProviderClient } from './clients.ts';

export type VisionTask = 'pdf_ocr' | 'image_comprehension';

export const PROMPTS: Record<VisionTask, string> = {
  pdf_ocr:
    'Transcribe all text on this page image as Markdown, in reading order (columns one after the other). ' +
    'Keep headings, lists and tables (as Markdown tables). Output only the transcription, no commentary.',
  image_comprehension:
    'Transcribe all text on this page image as Markdown, in reading order. Then, for each figure, chart or ' +
    'diagram, add a paragraph starting with "Figure:" that describes what it shows. No other commentary.',
};

export interface VisionCall {
  provider: Provider;
  model: Model;
  apiKey: Secret;
  baseURL: string | undefined;
  jpeg: Buffer;
  task: VisionTask;
  /** The output cap: with the input estimate, what makes every call's worst-case cost known. */
  maxOutputTokens: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface VisionResult {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** True when the model stopped at the output cap. */
  truncated: boolean;
}

/** How a failed provider call ends, by SDK error class and status (never by the provider's text). */
export type VisionFailure =
  | { kind: 'rate_limited'; retryAfterMs: number; status: 429 }
  | { kind: 'key_rejected'; status: 401 | 403 }
  | { kind: 'timeout' }
  | { kind: 'unreachable' }
  | { kind: 'server_error'; status: number }
  | { kind: 'bad_request'; status: number }
  | { kind: 'malformed' };

export class VisionCallError extends Error {
  readonly failure: VisionFailure;
  constructor(failure: VisionFailure) {
    super(`vision call failed: ${failure.kind}${'status' in failure ? ` (HTTP ${failure.status})` : ''}`);
    this.name = 'VisionCallError';
    this.failure = failure;
  }
}

/** One page image in, markdown out, through the provider's own SDK. */
export async function callVision(call: VisionCall): Promise<VisionResult> {
  const c = createProviderClient(call.provider, call.apiKey, call.baseURL, { timeoutMs: call.timeoutMs });
  const data = call.jpeg.toString('base64');
  try {
    if (c.sdk === 'anthropic') {
      const msg = await c.client.messages.create(
        {
          model: call.model.id,
          max_tokens: call.maxOutputTokens,
          messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data } }, { type: 'text', text: PROMPTS[call.task] }] }],
        },
        call.signal ? { signal: call.signal } : undefined,
      );
      const text = (msg.content ?? []).flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
      if (typeof msg.usage?.input_tokens !== 'number') throw new VisionCallError({ kind: 'malformed' });
      return { text, inputTokens: msg.usage.input_tokens, outputTokens: msg.usage.output_tokens ?? 0, truncated: msg.stop_reason === 'max_tokens' };
    }
    // OpenAI proper takes max_completion_tokens; OpenAI-compatible servers (Gemini, DeepSeek,
    // vLLM, Ollama) still expect max_tokens.
    const capField = call.provider.id === 'openai' || call.provider.id === 'azure_openai' ? { max_completion_tokens: call.maxOutputTokens } : { max_tokens: call.maxOutputTokens };
    const res = await c.client.chat.completions.create(
      {
        model: call.model.id,
        ...capField,
        messages: [{ role: 'user', content: [{ type: 'text', text: PROMPTS[call.task] }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${data}`, detail: 'high' } }] }],
      },
      call.signal ? { signal: call.signal } : undefined,
    );
    const choice = res.choices?.[0];
    if (!choice || typeof res.usage?.prompt_tokens !== 'number') throw new VisionCallError({ kind: 'malformed' });
    return { text: choice.message?.content ?? '', inputTokens: res.usage.prompt_tokens, outputTokens: res.usage.completion_tokens ?? 0, truncated: choice.finish_reason === 'length' };
  } catch (err) {
    throw toVisionError(err);
  }
}

export function toVisionError(err: unknown): VisionCallError {
  if (err instanceof VisionCallError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError || err instanceof Anthropic.APIConnectionTimeoutError) return new VisionCallError({ kind: 'timeout' });
  if (err instanceof OpenAI.APIUserAbortError || err instanceof Anthropic.APIUserAbortError) return new VisionCallError({ kind: 'timeout' });
  if (err instanceof OpenAI.APIConnectionError || err instanceof Anthropic.APIConnectionError) return new VisionCallError({ kind: 'unreachable' });
  const e = err as { status?: unknown; headers?: Headers | Record<string, string> };
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status === 429) return new VisionCallError({ kind: 'rate_limited', status: 429, retryAfterMs: retryAfterMs(e.headers) });
  if (status === 401 || status === 403) return new VisionCallError({ kind: 'key_rejected', status });
  // 408/409 and 5xx are worth another try elsewhere; other 4xx are not going to change.
  if (status !== undefined) return new VisionCallError(status >= 500 || status === 408 || status === 409 ? { kind: 'server_error', status } : { kind: 'bad_request', status });
  // A body the SDK could not parse.
  return new VisionCallError({ kind: 'malformed' });
}

/** `retry-after-ms`, `retry-after` (seconds or an HTTP date); 1 s when absent. */
export function retryAfterMs(headers: Headers | Record<string, string> | undefined, now = Date.now()): number {
  const get = (k: string) => (headers instanceof Headers ? headers.get(k) : headers?.[k]) ?? null;
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const ra = get('retry-after');
  if (ra !== null) {
    const s = Number(ra);
    if (Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
    const d = Date.parse(ra);
    if (Number.isFinite(d)) return Math.max(0, d - now);
  }
  return 1_000;
}
