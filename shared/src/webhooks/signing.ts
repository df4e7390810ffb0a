import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withOverrides, type Config } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * Webhook signatures. A delivery carries `Folio-Event-Id`, `Folio-Timestamp` (unix seconds) and
 * `Folio-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. Receivers check the
 * signature over the raw bytes (before any JSON parsing), reject old timestamps, and remember
 * event ids so a captured delivery cannot be replayed. See docs/CLIENTS.md.
 */

export const WEBHOOK_HEADERS = {
  eventId: 'folio-event-id',
  timestamp: 'folio-timestamp',
  signature: 'folio-signature',
} as const;

/** `v1=<hex>` for a timestamp (unix seconds) and the exact body bytes. */
export function signWebhook(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `v1=${mac.digest('hex')}`;
}

/** Where event ids already accepted are remembered (a Set works; so does a Redis-backed store). */
export interface SeenEventIds {
  has(id: string): boolean;
  add(id: string): unknown;
}

export type WebhookVerification =
  | { ok: true; eventId: string; timestamp: number }
  | { ok: false; reason: 'missing_headers' | 'bad_signature' | 'timestamp_out_of_range' | 'replayed' };

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a delivery: signature (constant-time), timestamp within `toleranceSec` (default 300) of
 * now, and, with `seen`, that the event id was not accepted before (it is then remembered). The
 * signature is checked before the id is remembered, so forged requests cannot poison `seen`.
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  rawBody: string | Uint8Array,
  opts: { toleranceSec?: number; seen?: SeenEventIds; now?: number } = {},
): WebhookVerification {
  const eventId = header(headers, WEBHOOK_HEADERS.eventId);
  const ts = header(headers, WEBHOOK_HEADERS.timestamp);
  const sig = header(headers, WEBHOOK_HEADERS.signature);
  if (eventId === undefined || ts === undefined || sig === undefined || !/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'missing_headers' };
  const expected = Buffer.from(signWebhook(secret, ts, rawBody));
  // Several signatures may be sent while a secret is rotated: "v1=…,v1=…".
  const candidates = sig.split(',').map((s) => Buffer.from(s.trim()));
  if (!candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected))) return { ok: false, reason: 'bad_signature' };
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSec ?? 300)) return { ok: false, reason: 'timestamp_out_of_range' };
  if (opts.seen !== undefined) {
    if (opts.seen.has(eventId)) return { ok: false, reason: 'replayed' };
    opts.seen.add(eventId);
  }
  return { ok: true, eventId, timestamp };
}

/**
 * The signing secret: WEBHOOK_SIGNING_SECRET when set (production refuses to start without it);
 * otherwise one generated once under DATA_DIR (mode 0600), like the development master key.
 */
export function resolveWebhookSecret(config: Config, logger: Logger): Config {
  if (config.webhooks.signingSecret !== undefined) return config;
  const file = path.join(config.dataDir, 'webhook-signing.key');
  let text: string;
  if (fs.existsSync(file)) {
    text = fs.readFileSync(file, 'utf8').trim();
  } else {
    fs.mkdirSync(config.dataDir, { recursive: true });
    text = randomBytes(32).toString('hex');
    try {
      fs.writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
      logger.warn({ file }, 'created a development webhook signing secret; set WEBHOOK_SIGNING_SECRET in production');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      text = fs.readFileSync(file, 'utf8').trim();
    }
  }
  return withOverrides(config, { webhooks: { signingSecret: text } });
}
