import {
  ENVIRONMENTS,
  ERROR_CATALOG,
  JOB_STATUSES,
  KEY_NAME,
  PROVIDER_IDS,
  PROVIDER_KINDS,
  QUEUE_NAMES,
  ROLES,
  TASKS,
  USAGE_METRICS,
  jobOptionsSchema,
  newKeySchema,
  newTokenSchema,
  optimizeRequestSchema,
  processOptionsSchema,
  providerPatchSchema,
  type ErrorCode,
  type PageClass,
} from '@folio/shared';
import {
  arrayOf,
  boolean,
  constant,
  count,
  enumOf,
  fromZod,
  integer,
  isoTime,
  mapOf,
  nullable,
  number,
  object,
  ref,
  string,
  uuid,
  type JsonSchema,
} from './json-schema.ts';

/**
 * The component schemas of the OpenAPI document: what each route answers (hand-written from the
 * route handlers, closed objects) and what it accepts (converted from the routes' zod schemas where
 * they are exported; the few schemas private to a route file are written out here).
 */

// ---------------------------------------------------------------------------------------------
// Vocabularies not exported as arrays (tied to their types so a new member fails the type check)

const PAGE_CLASSES = ['text', 'mixed', 'image', 'garbage', 'blank'] as const satisfies readonly PageClass[];
const _allPageClasses: Exclude<PageClass, (typeof PAGE_CLASSES)[number]> extends never ? true : never = true;
void _allPageClasses;

const QUALITIES = ['high', 'balanced', 'low_cost'] as const;
const COUNTED_JOB_STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;

/** Every stable error code, straight from the catalog (never copied). */
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];
/** The codes the catalog gives a status, e.g. 409 → idempotency_conflict, job_not_finished, cancelled. */
export const codesWithStatus = (status: number): ErrorCode[] => ERROR_CODES.filter((c) => ERROR_CATALOG[c].status === status);
/** The HTTP statuses of the catalog, ascending. */
export const ERROR_STATUSES: number[] = [...new Set(ERROR_CODES.map((c) => ERROR_CATALOG[c].status))].sort((a, b) => a - b);

/** The error body `{error: {code, message, details?}}`, optionally narrowed to some codes. */
export function errorBody(codes: readonly ErrorCode[] = ERROR_CODES): JsonSchema {
  return object(
    {
      error: object(
        {
          code: enumOf(codes, { description: 'A stable code from the error catalog (docs/ERRORS.md).' }),
          message: string({ description: 'For people; may change between versions.' }),
          details: { description: 'Structured details, when there are any (e.g. the invalid fields: `[{field, message}]`).' },
        },
        { optional: ['details'] },
      ),
    },
    { description: 'Every error the API answers with.' },
  );
}

const jobError = object({ code: enumOf(ERROR_CODES), message: string() }, { description: 'Why the job (or page) failed.' });
const cost = object({ micro_usd: count('Integer micro-dollars (1 USD = 1,000,000).'), usd: number({ minimum: 0 }) });

// ---------------------------------------------------------------------------------------------
// Requests

const processOptionDescriptions: Record<string, string> = {
  password: 'Opens a PDF encrypted with a user password. Kept out of logs and results; erased from Redis when the job ends.',
  ocr: '`auto`: the text layer where usable, OCR elsewhere; `always`: OCR every page; `never`: the text layer only. See docs/OCR.md.',
  use_ocr: 'The seed API\'s flag: `true` is `ocr=auto`, `false` is `ocr=never`.',
  languages: 'Tesseract language codes joined by `+` or `,` (`eng`, `eng+fra`); one to five, each installed. Default OCR_DEFAULT_LANGUAGES.',
  dpi: 'Rendering resolution for OCR (default OCR_DEFAULT_DPI, 300).',
  ai_provider: 'Who reads pages that need OCR: `tesseract` (local, free; the default), `auto` (the optimizer picks a vision model the tenant has a key for), or a provider id (`openai`, `anthropic`, …). See docs/VISION.md.',
  model: 'A vision model of that provider (default: the optimizer\'s pick). Needs a named `ai_provider`.',
  quality: 'The optimizer\'s preference when `ai_provider=auto`.',
  fallback_strategy: '`cascade`: on failure, timeout, refusal or budget, try the next engine, down to tesseract and the text layer; `none`: fail the page.',
  budget_constraint: 'Hard cap on what this job may spend on provider calls, in USD.',
  use_advanced_comprehension: 'Also describe figures and diagrams (vision models only).',
  callback_url: 'Webhook: when the job ends, a signed `job.completed|partial|failed|cancelled` event is POSTed here (retried with backoff). http(s) only; private, loopback, link-local and metadata addresses are refused (400 `url_not_allowed`) unless WEBHOOK_ALLOW_LIST admits them. See docs/CLIENTS.md.',
};

const processOptions = fromZod(processOptionsSchema, { descriptions: processOptionDescriptions });
const processOptionProperties = processOptions.properties as Record<string, JsonSchema>;

const requests: Record<string, JsonSchema> = {
  ProcessOptions: { ...processOptions, description: 'Processing options: multipart fields of `process`, JSON fields of `process-url`. Unknown fields are refused.' },
  ProcessUpload: {
    type: 'object',
    description: 'The PDF in a part named `file`, and any processing options as further fields (multipart values are strings: `dpi=300`, `use_ocr=false`).',
    properties: {
      file: string({ contentMediaType: 'application/pdf', description: 'The PDF (at most MAX_UPLOAD_BYTES; the first 1024 bytes must hold `%PDF-`).' }),
      ...processOptionProperties,
    },
    required: ['file'],
    additionalProperties: false,
  },
  ProcessUrlRequest: {
    type: 'object',
    description: 'A public http(s) URL (private addresses only when URL_FETCH_ALLOW_LIST admits them), and any processing options.',
    properties: { url: string({ minLength: 1, maxLength: 4096, description: 'http(s) URL of the PDF. Its query string is not kept with the job.' }), ...processOptionProperties },
    required: ['url'],
    additionalProperties: false,
  },
  NewToken: fromZod(newTokenSchema, {
    description: 'A token for one tenant and role.',
    descriptions: { role: '`admin` may manage tokens, provider keys and the catalog; `client` submits and reads its tenant\'s jobs.', tenant: 'The tenant whose jobs and keys the token reaches.' },
  }),
  NewKey: fromZod(newKeySchema, {
    description: 'A provider key: accepted once, stored encrypted, never returned.',
    descriptions: { api_key: 'The provider\'s API key.', key_name: 'Several keys per provider; storing under an existing name replaces the key and keeps the old one as `previous` until revoked.', environment: 'A deployment uses the keys of its BYOK_ENVIRONMENT.' },
  }),
  ProviderPatch: fromZod(providerPatchSchema, { description: 'What an admin may change of a provider: active flag, base URL, per-key limits, models and prices.' }),
  OptimizeRequest: fromZod(optimizeRequestSchema, {
    description: 'A document to plan engines for.',
    descriptions: { pages_needing_ocr: 'Pages with no usable text layer; default: all.', only_usable: 'Only providers this tenant has a usable key for (or local engines).' },
  }),
  // The two below are private to ai.routes.ts (optimizeCostSchema, trackSchema): written out here.
  OptimizeCostRequest: object(
    {
      task: enumOf(TASKS, { default: 'chat' }),
      input_tokens: integer({ minimum: 0, maximum: 10_000_000 }),
      output_tokens: integer({ minimum: 0, maximum: 1_000_000 }),
      quality: enumOf(QUALITIES, { default: 'balanced' }),
      only_usable: boolean({ default: false, description: 'Only providers this tenant has a usable key for.' }),
    },
    { optional: ['task', 'quality', 'only_usable'], description: 'A generic call to price on every active model.' },
  ),
  // Private to ai.routes.ts too (budgetSchema).
  BudgetRequest: object(
    { monthly_usd: nullable(number({ exclusiveMinimum: 0, maximum: 10_000_000, description: 'USD per calendar month; null: no budget for this tenant (overrides TENANT_MONTHLY_BUDGET_USD).' })) },
    { description: 'The tenant\'s monthly budget for provider calls.' },
  ),
  UsageTrackRequest: object(
    {
      id: string({ minLength: 1, maxLength: 200, description: 'Idempotency id: the same id twice is recorded once. Default: a new one.' }),
      provider: string({ minLength: 1, maxLength: 40, description: 'A provider id of the catalog.' }),
      model: string({ minLength: 1, maxLength: 200 }),
      input_tokens: integer({ minimum: 0 }),
      output_tokens: integer({ minimum: 0 }),
      cost_usd: number({ minimum: 0, description: 'Default: priced from the catalog.' }),
      outcome: enumOf(['ok', 'error', 'unknown'], { default: 'ok' }),
      at: { anyOf: [integer({ exclusiveMinimum: 0, description: 'Unix milliseconds' }), isoTime()], description: 'When the call happened (default: now).' },
    },
    { optional: ['id', 'cost_usd', 'outcome', 'at'], description: 'Usage of a provider call made outside Folio.' },
  ),
};

// ---------------------------------------------------------------------------------------------
// Jobs and results

const engineEstimate = object({
  provider: string(),
  model: string(),
  quality: integer({ minimum: 1, maximum: 5 }),
  local: boolean(),
  input_tokens_per_page: count(),
  output_tokens_per_page: count(),
  cost_per_page_usd: number({ minimum: 0 }),
  estimated_cost_usd: number({ minimum: 0 }),
  worst_case_cost_usd: number({ minimum: 0, description: 'Every page hits the output cap.' }),
  within_budget: boolean(),
  usable: boolean(),
});

const enginePlanProperties: Record<string, JsonSchema> = {
  strategy: enumOf(['auto', 'provider']),
  quality: enumOf(QUALITIES),
  fallback_strategy: enumOf(['cascade', 'none']),
  recommended_provider: nullable(ref('EngineEstimate')),
  alternatives: object({ high_quality: nullable(ref('EngineEstimate')), cost_effective: nullable(ref('EngineEstimate')) }),
  cascade: arrayOf(object({ provider: string(), model: string() }, { optional: ['model'] })),
  estimated_cost_usd: nullable(number({ minimum: 0 })),
  explanation: arrayOf(string()),
};

const jobs: Record<string, JsonSchema> = {
  JobUrls: object({ status: string({ description: 'Poll here.' }), result: string({ description: 'The result, once completed or partial.' }) }),
  JobAccepted: object({ job_id: uuid(), status: enumOf(JOB_STATUSES, { description: '`queued`, or the current status of the job an Idempotency-Key replay returns.' }), urls: ref('JobUrls') }),
  JobOptions: fromZod(jobOptionsSchema, { io: 'output', description: 'The options the job runs with, every default filled in.' }),
  JobView: object(
    {
      job_id: uuid(),
      status: enumOf(JOB_STATUSES, { description: '`queued → planning → processing → completed | partial | failed`, or `cancelled`.' }),
      filename: string(),
      size_bytes: count(),
      sha256: string({ pattern: '^[0-9a-f]{64}$' }),
      source: enumOf(['upload', 'url']),
      source_url: string({ description: 'process-url only: the URL without its query string.' }),
      options: ref('JobOptions'),
      progress: object({ pages_total: nullable(count()), pages_done: count(), pages_failed: count(), percent: integer({ minimum: 0, maximum: 100 }) }),
      timings: object({ created_at: isoTime(), started_at: nullable(isoTime()), finished_at: nullable(isoTime()), duration_ms: nullable(count()) }),
      expires_at: isoTime('The upload and results are deleted then (RETENTION_HOURS).'),
      byok_optimization: ref('EnginePlan'),
      cost: ref('Cost'),
      error: nullable(ref('JobError')),
      webhook: ref('WebhookStatus'),
      urls: ref('JobUrls'),
    },
    { optional: ['source_url', 'byok_optimization', 'webhook'] },
  ),
  WebhookStatus: object(
    {
      url: string({ description: 'The callback URL: origin and path only.' }),
      state: enumOf(['pending', 'delivered', 'failed'], { description: '`failed`: attempts used up, or the receiver answered a 4xx other than 408/429.' }),
      attempts: arrayOf(
        object(
          {
            at: isoTime(),
            status: integer({ minimum: 100, maximum: 599, description: 'The receiver\'s HTTP status.' }),
            error: string({ description: 'Why there was no answer (timeout, refused address, connection error).' }),
            duration_ms: count(),
          },
          { optional: ['status', 'error'] },
        ),
      ),
      delivered_at: isoTime(),
    },
    { optional: ['delivered_at'], description: 'Delivery of the job\'s webhook (jobs with a callback_url, once they ended).' },
  ),
  JobList: object({ jobs: arrayOf(ref('JobView')), count: count() }),
  JobDeleted: object({
    job_id: uuid(),
    status: enumOf(['cancelled', 'deleted'], { description: '`cancelled`: the job was still running (its record stays, its files go); `deleted`: a finished job, record and files.' }),
    deleted: constant(true),
  }),
  JobError: jobError,
  Cost: cost,
  EngineEstimate: engineEstimate,
  EnginePlan: object(enginePlanProperties, { description: 'The engine plan for pages that need a model (jobs with `ai_provider` other than tesseract).' }),
  DocumentPage: object(
    {
      page: integer({ minimum: 1 }),
      engine: string({ description: '`text_layer`, `tesseract`, `tesseract.js`, a provider id, or `none` (failed).' }),
      classification: enumOf(PAGE_CLASSES),
      text: string(),
      chars: count(),
      confidence: number({ minimum: 0, maximum: 100, description: 'OCR: mean word confidence.' }),
      timing_ms: number({ minimum: 0 }),
      render: object({ dpi: number(), requested_dpi: number(), capped: boolean(), ms: number({ minimum: 0 }) }),
      ocr_ms: number({ minimum: 0 }),
      model: string(),
      tokens: object({ input: count(), output: count() }),
      cost_usd: number({ minimum: 0 }),
      attempts: arrayOf(object({ engine: string(), model: string(), outcome: enumOf(['ok', 'skipped', 'failed']), reason: string() }, { optional: ['model', 'reason'] }), {
        description: 'Engines tried in order, when more than one was (fallback).',
      }),
      words: arrayOf(
        object({
          text: string(),
          confidence: number(),
          bbox: { type: 'array', prefixItems: [number(), number(), number(), number()], items: false, minItems: 4, description: '[x0, y0, x1, y1] in PDF points from the top-left.' },
        }),
      ),
      error: jobError,
    },
    { optional: ['classification', 'confidence', 'render', 'ocr_ms', 'model', 'tokens', 'cost_usd', 'attempts', 'words', 'error'] },
  ),
  DocumentResult: object(
    {
      job_id: uuid(),
      status: enumOf(['completed', 'partial', 'failed']),
      filename: string(),
      sha256: string({ pattern: '^[0-9a-f]{64}$' }),
      page_count: count(),
      engines: mapOf(count(), { description: 'Pages per engine.' }),
      cost: ref('Cost'),
      byok_optimization: object({ ...enginePlanProperties, actual_cost_usd: number({ minimum: 0 }) }),
      pages: arrayOf(ref('DocumentPage')),
    },
    { optional: ['byok_optimization'], description: '`document.json`: per page its text, engine and timing.' },
  ),
  ServiceStatus: object({
    service: constant('folio'),
    status: constant('ok'),
    queues: object(Object.fromEntries(Object.keys(QUEUE_NAMES).map((q) => [q, ref('QueueCounts')]))),
    workers: object({ pages: nullable(count()) }),
    limits: object({ max_upload_bytes: count(), max_pages: count(), page_timeout_ms: count(), retention_hours: number({ minimum: 0 }) }),
    queue_names: arrayOf(enumOf(Object.values(QUEUE_NAMES))),
  }),
  QueueCounts: object(Object.fromEntries(COUNTED_JOB_STATES.map((s) => [s, count()]))),
};

// ---------------------------------------------------------------------------------------------
// Probes and documents

const probes: Record<string, JsonSchema> = {
  Health: object({ status: constant('ok') }),
  Readiness: object({ status: enumOf(['ready', 'not_ready']), checks: object({ redis: enumOf(['ok', 'unavailable']), storage: enumOf(['ok', 'unavailable']) }) }),
  OpenApiDocument: {
    type: 'object',
    required: ['openapi', 'info', 'paths'],
    properties: { openapi: string({ pattern: '^3\\.1\\.' }), info: { type: 'object' }, paths: { type: 'object' } },
  },
};

// ---------------------------------------------------------------------------------------------
// Auth

const auth: Record<string, JsonSchema> = {
  Principal: object({ name: string(), role: enumOf(ROLES), tenant: string() }, { description: 'The caller (in loopback development without a token: the default tenant\'s admin).' }),
  TokenCreated: object({ token: string({ description: 'The bearer token: shown once, stored hashed.' }), id: uuid(), name: string(), role: enumOf(ROLES), tenant: string(), note: string() }),
  TokenInfo: object({ id: uuid(), name: string(), role: enumOf(ROLES), tenant: string(), created_at: isoTime(), created_by: string() }),
  TokenList: object({ tokens: arrayOf(ref('TokenInfo')) }),
  TokenRevoked: object({ id: string(), revoked: constant(true) }),
};

// ---------------------------------------------------------------------------------------------
// Providers, keys, optimizer, usage

const usageTotals = object({ ...Object.fromEntries(USAGE_METRICS.map((m) => [m, count()])), cost_usd: number({ minimum: 0, description: 'cost_micro_usd / 1e6, for display.' }) });

const keyStatus = object(
  {
    provider: string(),
    key_name: string({ pattern: KEY_NAME.source }),
    environment: enumOf(ENVIRONMENTS),
    status: enumOf(['active', 'invalid']),
    fingerprint: string(),
    last4: string(),
    created_at: isoTime(),
    updated_at: isoTime(),
    created_by: string(),
    invalid_reason: string(),
    previous: object({ fingerprint: string(), last4: string(), replaced_at: isoTime() }, { description: 'A replaced key, usable until revoked.' }),
  },
  { optional: ['invalid_reason', 'previous'], description: 'What the API shows of a stored key: never the key.' },
);

const keyCheckCommon = { provider: string(), key_name: string(), key: nullable(ref('KeyStatus')) };

const byok: Record<string, JsonSchema> = {
  UsageTotals: usageTotals,
  ProviderView: object(
    {
      id: enumOf(PROVIDER_IDS),
      name: string(),
      description: string(),
      kind: enumOf(PROVIDER_KINDS),
      status: enumOf(['ready', 'needs_key', 'inactive']),
      active: boolean(),
      capabilities: arrayOf(enumOf(TASKS)),
      models: arrayOf(object({ id: string(), vision: boolean(), input_per_million_usd: number({ minimum: 0 }), output_per_million_usd: number({ minimum: 0 }) })),
      limits: object({ rpm: nullable(integer({ minimum: 1 })), tpm: nullable(integer({ minimum: 1 })) }, { description: 'Per-key requests and tokens per minute (null: unlimited).' }),
      has_keys: boolean(),
      key_count: count(),
      env_key: boolean({ description: 'The operator\'s environment variable holds a key (the fallback).' }),
      usage: nullable(ref('UsageTotals')),
      base_url: nullable(string({ description: 'Admins only.' })),
    },
    { optional: ['usage', 'base_url'] },
  ),
  ProviderList: object({
    providers: arrayOf(ref('ProviderView')),
    totals: object({ providers: count(), active: count(), ready: count(), with_keys: count(), keys: count(), usage: ref('UsageTotals') }),
  }),
  PdfProviders: object({ providers: arrayOf(ref('ProviderView')) }),
  KeyStatus: keyStatus,
  KeyList: object({ provider: string(), keys: arrayOf(ref('KeyStatus')) }),
  KeyDeleted: object({ provider: string(), key_name: string(), deleted: enumOf(['key', 'previous']) }),
  KeyCheck: {
    description: 'The outcome of one authenticated list-models call with the key, and the key\'s status after it.',
    oneOf: [
      object({ ...keyCheckCommon, ok: constant(true), models: count() }),
      object({ ...keyCheckCommon, ok: constant(false), reason: enumOf(['rejected', 'unreachable', 'error']), status: integer(), message: string() }, { optional: ['status'] }),
    ],
  },
  Optimization: object({
    recommended_provider: nullable(ref('EngineEstimate')),
    alternatives: object({ high_quality: nullable(ref('EngineEstimate')), cost_effective: nullable(ref('EngineEstimate')) }),
    cascade: arrayOf(object({ provider: string(), model: string() }), { description: 'The order `fallback_strategy=cascade` would try, ending with the free local engines.' }),
    candidates: arrayOf(ref('EngineEstimate')),
    explanation: arrayOf(string()),
  }),
  CostRow: object({ provider: string(), model: string(), quality: integer({ minimum: 1, maximum: 5 }), estimated_cost_usd: number({ minimum: 0 }), usable: boolean() }),
  CostOptimization: object({
    recommended_provider: nullable(ref('CostRow')),
    alternatives: object({ high_quality: nullable(ref('CostRow')), cost_effective: nullable(ref('CostRow')) }),
    candidates: arrayOf(ref('CostRow'), { description: 'Cheapest first.' }),
    explanation: arrayOf(string()),
  }),
  UsageStats: object({
    tenant: nullable(string({ description: 'null: every tenant (admins with all=true).' })),
    totals: ref('UsageTotals'),
    by_provider: mapOf(ref('UsageTotals')),
    by_model: mapOf(mapOf(ref('UsageTotals')), { description: 'provider → model → totals.' }),
    by_day: mapOf(ref('UsageTotals'), { propertyNames: { pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, description: 'UTC day → totals.' }),
    zero_priced: count('Events with tokens but no cost from a paid provider: a missing price.'),
  }),
  Budget: object({
    tenant: string(),
    monthly_usd: nullable(number({ minimum: 0, description: 'null: no budget.' })),
    month: string({ description: 'The calendar month being counted (Redis time).' }),
    spent_usd: number({ minimum: 0 }),
    reserved_usd: number({ minimum: 0, description: 'Held by provider calls in flight (their worst case).' }),
    remaining_usd: nullable(number({ minimum: 0 })),
  }),
  UsageTracked: object({ id: string(), appended: boolean({ description: 'false: this id was recorded before.' }), cost_micro_usd: count() }),
  AiHealth: object({
    status: constant('ok'),
    encryption: object({ algorithm: string(), master_key_version: string() }),
    providers: mapOf(object({ status: enumOf(['ready', 'needs_key', 'inactive']), active: boolean(), has_keys: boolean(), env_key: boolean() })),
    invalid_keys: arrayOf(object({ provider: string(), key_name: string() })),
  }),
  AuditLog: object({
    entries: arrayOf(
      object(
        { id: string(), at: isoTime(), actor: string(), action: string(), provider: string(), key_name: string(), environment: string(), fingerprint: string(), detail: string() },
        { optional: ['environment', 'fingerprint', 'detail'] },
      ),
    ),
  }),
  RewrapResult: object({
    tenants: count(),
    rewrapped: count(),
    master_key_version: string(),
    wrapped_under: mapOf(count(), { description: 'Master-key version → data keys wrapped under it (an old version can go once it is absent).' }),
  }),
};

export const componentSchemas: Record<string, JsonSchema> = {
  Error: errorBody(),
  ...probes,
  ...requests,
  ...jobs,
  ...auth,
  ...byok,
};
