import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { AzureOpenAI } from 'openai';
import type { Config } from '../config/config.ts';
import type { Provider } from '../byok/catalog/index.ts';
import type { Secret } from '../byok/crypto/index.ts';

export type ProviderClient = { sdk: 'openai'; client: OpenAI } | { sdk: 'anthropic'; client: Anthropic };

/** The Azure OpenAI API version Folio speaks (data-plane GA). */
export const AZURE_API_VERSION = '2024-10-21';

/**
 * The endpoint of a provider: the SDKs' own environment overrides (OPENAI_BASE_URL,
 * ANTHROPIC_BASE_URL) and the per-deployment ones (AZURE_OPENAI_ENDPOINT,
 * OPENAI_COMPATIBLE_BASE_URL) first, as their users expect; then the catalog's base URL.
 */
export function providerBaseUrl(provider: Provider, config: Config): string | undefined {
  return config.byok.envBaseUrls[provider.id] ?? provider.base_url ?? undefined;
}

/**
 * An SDK client for one call with one key. The key travels only in the SDK's auth header
 * (`Authorization: Bearer`, `x-api-key`, Azure's `api-key`), never in a URL. Retries are ours to
 * decide (BullMQ attempts, fallbacks), so the SDK's are off unless asked for: they would multiply.
 */
export function createProviderClient(provider: Provider, apiKey: Secret, baseURL: string | undefined, opts: { timeoutMs: number; maxRetries?: number }): ProviderClient {
  const common = { timeout: opts.timeoutMs, maxRetries: opts.maxRetries ?? 0 };
  if (provider.sdk === 'anthropic') {
    return { sdk: 'anthropic', client: new Anthropic({ ...common, apiKey: apiKey.reveal(), ...(baseURL ? { baseURL } : {}) }) };
  }
  if (provider.id === 'azure_openai') {
    if (!baseURL) throw new Error('azure_openai needs AZURE_OPENAI_ENDPOINT or a base_url in the catalog');
    return { sdk: 'openai', client: new AzureOpenAI({ ...common, apiKey: apiKey.reveal(), endpoint: baseURL, apiVersion: AZURE_API_VERSION }) };
  }
  if (provider.sdk === 'openai') {
    return { sdk: 'openai', client: new OpenAI({ ...common, apiKey: apiKey.reveal(), ...(baseURL ? { baseURL } : {}) }) };
  }
  throw new Error(`provider ${provider.id} is a local engine and has no API client`);
}

export type KeyCheck =
  | { ok: true; models: number }
  | { ok: false; reason: 'rejected' | 'unreachable' | 'error'; status?: number; message: string };

/**
 * Checks a key with a cheap authenticated call (list models). The provider's own error text is not
 * passed on: some providers echo (part of) the key in it.
 */
export async function checkKey(provider: Provider, apiKey: Secret, baseURL: string | undefined, timeoutMs = 10_000): Promise<KeyCheck> {
  const c = createProviderClient(provider, apiKey, baseURL, { timeoutMs });
  try {
    let models = 0;
    if (c.sdk === 'openai') {
      for await (const _m of c.client.models.list()) models++;
    } else {
      for await (const _m of c.client.models.list()) models++;
    }
    return { ok: true, models };
  } catch (err) {
    return describeProviderError(err);
  }
}

/** Classifies an SDK error by class and status, keeping none of the provider's text. */
export function describeProviderError(err: unknown): Extract<KeyCheck, { ok: false }> {
  const status = (err as { status?: unknown }).status;
  const isConn = err instanceof OpenAI.APIConnectionError || err instanceof Anthropic.APIConnectionError;
  if (isConn) return { ok: false, reason: 'unreachable', message: 'The provider could not be reached' };
  if (status === 401 || status === 403) return { ok: false, reason: 'rejected', status, message: `The provider rejected the key (HTTP ${status})` };
  if (typeof status === 'number') return { ok: false, reason: 'error', status, message: `The provider answered HTTP ${status}` };
  return { ok: false, reason: 'error', message: 'The provider call failed' };
}
