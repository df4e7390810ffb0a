import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseKeyring } from '../byok/crypto/keyring.ts';

/** Comma-separated list → trimmed, non-empty entries. */
const csv = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

/**
 * Every environment variable Folio reads, with its default. `.env.example` documents each one;
 * nothing else in the code base reads `process.env`.
 */
export const ENV_SCHEMA = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(5058),
  /** Where the embedded Redis/S3 and the worker's PDF cache keep their files. */
  DATA_DIR: z.string().min(1).default('./data'),

  REDIS_URL: z.string().url().optional(),
  /** Namespace of every Redis key Folio writes (BullMQ queues and job records). Use a hash tag, e.g. `{folio}`, on Redis Cluster. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:{}_-]+$/).default('folio'),

  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default('folio'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  /** Create the bucket at start when it is missing (MinIO, s3rver); off for AWS where IAM manages it. */
  S3_CREATE_BUCKET: bool.default(true),

  MAX_UPLOAD_BYTES: positiveInt.default(200 * 1024 * 1024),
  MAX_PAGES: positiveInt.default(5000),
  /** Text-layer pages handled per page job. */
  TEXT_CHUNK_PAGES: positiveInt.max(1000).default(32),
  PLAN_CONCURRENCY: positiveInt.max(64).default(2),
  PAGE_CONCURRENCY: positiveInt.max(64).default(Math.max(1, os.availableParallelism())),
  PAGE_TIMEOUT_MS: positiveInt.default(120_000),
  /** Heap cap of each PDF-processing worker thread; a page that needs more fails alone. */
  WORKER_MEMORY_LIMIT_MB: positiveInt.min(64).default(1536),
  JOB_ATTEMPTS: positiveInt.max(20).default(3),
  /** How long a worker's claim on a job lasts without renewal; a crashed worker's jobs are taken over after it. */
  WORKER_LOCK_MS: positiveInt.min(1_000).default(30_000),
  PDF_CACHE_BYTES: z.coerce.number().int().min(0).default(1024 * 1024 * 1024),
  RETENTION_HOURS: z.coerce.number().positive().default(24 * 7),
  RETENTION_SWEEP_SECONDS: positiveInt.default(60),

  /** `auto`: the native tesseract binary when installed with the languages asked for, else tesseract.js. */
  OCR_ENGINE: z.enum(['auto', 'tesseract', 'tesseract.js']).default('auto'),
  /** Pages OCR'd at once per worker process (each its own thread and engine). */
  OCR_CONCURRENCY: positiveInt.max(64).default(Math.max(1, os.availableParallelism())),
  OCR_DEFAULT_DPI: z.coerce.number().int().min(72).max(600).default(300),
  OCR_DEFAULT_LANGUAGES: z.string().regex(/^[a-z_]{3,16}([+,][a-z_]{3,16})*$/).default('eng'),
  /** A page rendered for OCR never exceeds this many pixels: larger pages are rendered at a lower DPI. */
  OCR_MAX_PIXELS: positiveInt.min(1_000_000).default(35_000_000),
  /**
   * A text layer with fewer non-blank characters than this counts as `mixed` and is OCR'd under
   * ocr=auto. 1: any readable text layer is used (a title page of a book is not OCR'd); raise it
   * for scans that carry a stamp or a header as their only text.
   */
  OCR_MIN_TEXT_CHARS: z.coerce.number().int().min(0).default(1),
  /** Images larger than this (in pixels) inside a PDF are not decoded when rendering (decompression bombs). */
  PDF_MAX_IMAGE_PIXELS: positiveInt.default(200_000_000),

  /** `auto`: tokens required unless the API binds to loopback outside production. */
  AUTH_REQUIRED: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Bootstrap admin bearer token (at least 32 characters); more tokens are created through the API. */
  ADMIN_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
  /** Tenant of the bootstrap admin token and of unauthenticated loopback development requests. */
  DEFAULT_TENANT: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).default('default'),

  /** Master keyring for stored provider keys: `v2:<base64 32 bytes>,v1:<…>`, current first. Required in production. */
  BYOK_ENCRYPTION_KEY: z.string().optional(),
  /** Which environment's stored keys this deployment uses. */
  BYOK_ENVIRONMENT: z.enum(['development', 'staging', 'production']).default('development'),
  // Fallback provider keys when none is stored (and what `npm run keys:import-env` imports).
  OPENAI_API_KEY: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  GEMINI_API_KEY: z.string().optional(),
  AZURE_OPENAI_API_KEY: z.string().optional(),
  DEEPSEEK_API_KEY: z.string().optional(),
  HF_TOKEN: z.string().optional(),
  OPENAI_COMPATIBLE_API_KEY: z.string().optional(),
  // Base URLs: the SDKs' own overrides, and the endpoints that have no fixed URL.
  OPENAI_BASE_URL: z.string().url().optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  AZURE_OPENAI_ENDPOINT: z.string().url().optional(),
  OPENAI_COMPATIBLE_BASE_URL: z.string().url().optional(),

  /** Output-token cap of every vision call: with the input estimate, every call's worst-case cost is known. */
  VISION_MAX_OUTPUT_TOKENS: positiveInt.max(64_000).default(4096),
  /** Time limit of one vision call (the SDK's timeout; a call past it is settled at its worst case). */
  VISION_TIMEOUT_MS: positiveInt.default(60_000),
  /** Default monthly budget of every tenant for provider calls, in USD (unset: none). */
  TENANT_MONTHLY_BUDGET_USD: z.coerce.number().positive().optional(),

  URL_FETCH_ALLOW_LIST: csv,
  URL_FETCH_TIMEOUT_MS: positiveInt.default(30_000),
  URL_FETCH_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),

  /** Server-Sent Events (`GET /jobs/:id/events`): a `: ping` comment this often keeps proxies from closing the stream. */
  SSE_HEARTBEAT_MS: positiveInt.min(100).default(15_000),
  /** Concurrent event streams per API process (each holds a Redis connection); more answer 503 too_many_streams. */
  SSE_MAX_STREAMS: positiveInt.default(200),
  /** Webhook targets admitted despite the private-address rules: CIDRs or exact hostnames, as URL_FETCH_ALLOW_LIST. */
  WEBHOOK_ALLOW_LIST: csv,
  /** HMAC-SHA256 key of the `Folio-Signature` header (at least 32 characters). Required in production; generated under DATA_DIR otherwise. */
  WEBHOOK_SIGNING_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** Delivery attempts of one webhook (exponential backoff with full jitter between them). */
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(30).default(8),
  /** Base delay of the webhook backoff: attempt n waits a random time in [0, base × 2^(n-1)). */
  WEBHOOK_BACKOFF_MS: positiveInt.default(5_000),
  /** Time limit of one delivery (connect, request, response headers). */
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
});

export type Env = z.input<typeof ENV_SCHEMA>;

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly logLevel: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly redis: { readonly url: string | undefined; readonly prefix: string };
  readonly s3: {
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly bucket: string;
    readonly accessKeyId: string | undefined;
    readonly secretAccessKey: string | undefined;
    readonly forcePathStyle: boolean;
    readonly createBucket: boolean;
  };
  readonly limits: {
    readonly maxUploadBytes: number;
    readonly maxPages: number;
    readonly pageTimeoutMs: number;
    readonly workerMemoryLimitMb: number;
  };
  readonly processing: {
    readonly textChunkPages: number;
    readonly planConcurrency: number;
    readonly pageConcurrency: number;
    readonly jobAttempts: number;
    readonly lockMs: number;
    readonly pdfCacheBytes: number;
  };
  readonly ocr: {
    readonly engine: 'auto' | 'tesseract' | 'tesseract.js';
    readonly concurrency: number;
    readonly defaultDpi: number;
    readonly defaultLanguages: readonly string[];
    readonly maxPixels: number;
    readonly minTextChars: number;
    readonly maxImagePixels: number;
  };
  readonly auth: {
    readonly required: boolean;
    readonly adminToken: string | undefined;
    readonly defaultTenant: string;
  };
  readonly vision: {
    readonly maxOutputTokens: number;
    readonly timeoutMs: number;
    readonly tenantMonthlyBudgetUsd: number | undefined;
  };
  readonly byok: {
    /** Keyring text; filled in at start-up in development when unset (see resolveMasterKey). */
    readonly encryptionKey: string | undefined;
    readonly environment: 'development' | 'staging' | 'production';
    /** Provider id → key from the environment (the fallback when no key is stored). */
    readonly envKeys: Readonly<Record<string, string>>;
    /** Provider id → base URL override from the environment. */
    readonly envBaseUrls: Readonly<Record<string, string>>;
  };
  readonly retention: { readonly hours: number; readonly sweepSeconds: number };
  readonly urlFetch: {
    readonly allowList: readonly string[];
    readonly timeoutMs: number;
    readonly maxRedirects: number;
  };
  readonly sse: { readonly heartbeatMs: number; readonly maxStreams: number };
  readonly webhooks: {
    readonly allowList: readonly string[];
    /** Filled in at start-up in development when unset (see resolveWebhookSecret). */
    readonly signingSecret: string | undefined;
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly timeoutMs: number;
  };
}

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Parses the environment once, listing every problem at once. Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ENV_SCHEMA.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const issues: string[] = [];
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    issues.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither');
  }
  if (e.BYOK_ENCRYPTION_KEY !== undefined) {
    try {
      parseKeyring(e.BYOK_ENCRYPTION_KEY);
    } catch (err) {
      const list = (err as { issues?: readonly string[] }).issues ?? ['invalid'];
      for (const i of list) issues.push(`BYOK_ENCRYPTION_KEY: ${i}`);
    }
  } else if (e.NODE_ENV === 'production') {
    issues.push('BYOK_ENCRYPTION_KEY is required in production (generate one: node -e "console.log(\'v1:\' + require(\'crypto\').randomBytes(32).toString(\'base64\'))")');
  }
  if (e.WEBHOOK_SIGNING_SECRET === undefined && e.NODE_ENV === 'production') {
    issues.push('WEBHOOK_SIGNING_SECRET is required in production (generate one: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'hex\'))")');
  }
  const loopback = isLoopbackHost(e.HOST);
  const authRequired = e.AUTH_REQUIRED === 'auto' ? !(loopback && e.NODE_ENV !== 'production') : e.AUTH_REQUIRED === 'true';
  if (!authRequired && (!loopback || e.NODE_ENV === 'production')) {
    issues.push('AUTH_REQUIRED=false is only allowed when HOST is a loopback address and NODE_ENV is not production');
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze({
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT },
    dataDir: path.resolve(e.DATA_DIR),
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      createBucket: e.S3_CREATE_BUCKET,
    },
    limits: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxPages: e.MAX_PAGES,
      pageTimeoutMs: e.PAGE_TIMEOUT_MS,
      workerMemoryLimitMb: e.WORKER_MEMORY_LIMIT_MB,
    },
    processing: {
      textChunkPages: e.TEXT_CHUNK_PAGES,
      planConcurrency: e.PLAN_CONCURRENCY,
      pageConcurrency: e.PAGE_CONCURRENCY,
      jobAttempts: e.JOB_ATTEMPTS,
      lockMs: e.WORKER_LOCK_MS,
      pdfCacheBytes: e.PDF_CACHE_BYTES,
    },
    ocr: {
      engine: e.OCR_ENGINE,
      concurrency: e.OCR_CONCURRENCY,
      defaultDpi: e.OCR_DEFAULT_DPI,
      defaultLanguages: e.OCR_DEFAULT_LANGUAGES.split(/[+,]/),
      maxPixels: e.OCR_MAX_PIXELS,
      minTextChars: e.OCR_MIN_TEXT_CHARS,
      maxImagePixels: e.PDF_MAX_IMAGE_PIXELS,
    },
    vision: { maxOutputTokens: e.VISION_MAX_OUTPUT_TOKENS, timeoutMs: e.VISION_TIMEOUT_MS, tenantMonthlyBudgetUsd: e.TENANT_MONTHLY_BUDGET_USD },
    byok: {
      encryptionKey: e.BYOK_ENCRYPTION_KEY,
      environment: e.BYOK_ENVIRONMENT,
      envKeys: compact({
        openai: e.OPENAI_API_KEY,
        anthropic: e.ANTHROPIC_API_KEY,
        google_gemini: e.GEMINI_API_KEY,
        azure_openai: e.AZURE_OPENAI_API_KEY,
        deepseek: e.DEEPSEEK_API_KEY,
        huggingface: e.HF_TOKEN,
        openai_compatible: e.OPENAI_COMPATIBLE_API_KEY,
      }),
      envBaseUrls: compact({
        openai: e.OPENAI_BASE_URL,
        anthropic: e.ANTHROPIC_BASE_URL,
        azure_openai: e.AZURE_OPENAI_ENDPOINT,
        openai_compatible: e.OPENAI_COMPATIBLE_BASE_URL,
      }),
    },
    auth: { required: authRequired, adminToken: e.ADMIN_TOKEN, defaultTenant: e.DEFAULT_TENANT },
    retention: { hours: e.RETENTION_HOURS, sweepSeconds: e.RETENTION_SWEEP_SECONDS },
    urlFetch: {
      allowList: e.URL_FETCH_ALLOW_LIST,
      timeoutMs: e.URL_FETCH_TIMEOUT_MS,
      maxRedirects: e.URL_FETCH_MAX_REDIRECTS,
    },
    sse: { heartbeatMs: e.SSE_HEARTBEAT_MS, maxStreams: e.SSE_MAX_STREAMS },
    webhooks: {
      allowList: e.WEBHOOK_ALLOW_LIST,
      signingSecret: e.WEBHOOK_SIGNING_SECRET,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  });
}

/** A copy of `config` with some sections replaced (the embedded default fills in Redis and S3). */
export function withOverrides(
  config: Config,
  overrides: {
    redis?: Partial<Config['redis']>;
    s3?: Partial<Config['s3']>;
    http?: Partial<Config['http']>;
    byok?: Partial<Config['byok']>;
    webhooks?: Partial<Config['webhooks']>;
  },
): Config {
  return deepFreeze({
    ...config,
    byok: { ...config.byok, ...overrides.byok },
    webhooks: { ...config.webhooks, ...overrides.webhooks },
    redis: { ...config.redis, ...overrides.redis },
    s3: { ...config.s3, ...overrides.s3 },
    http: { ...config.http, ...overrides.http },
  });
}

function compact(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
