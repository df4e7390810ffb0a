import { ERROR_CATALOG, JOB_STATUSES, KEY_NAME, PROVIDER_IDS, RESULT_FORMATS } from '@folio/shared';
import pkg from '../../package.json' with { type: 'json' };
import { API_PREFIX } from '../jobs/job-view.ts';
import { QUEUE_UI_PATH } from '../queue-ui/queue-ui.ts';
import { componentSchemas, codesWithStatus, errorBody, ERROR_STATUSES } from './schemas.ts';
import { integer, ref, string, type JsonSchema } from './json-schema.ts';
import type { Header, OpenApiDocument, Operation, Parameter, Reference, RequestBody, ResponseObject } from './types.ts';

/**
 * The OpenAPI 3.1 description of every endpoint the API serves, served at `/openapi.json` and
 * rendered at `/docs`. `test/integration/openapi.test.ts` keeps it honest: every route the express
 * app registers must appear here, and every operation here must have a real response that
 * validates against its schema.
 */

const TAGS = {
  health: { name: 'Health', description: 'Liveness, readiness and Prometheus metrics: open to probes and scrapers.' },
  documents: { name: 'Documents', description: 'Upload or fetch PDFs, follow their jobs, read the results (JSON, text, markdown). See README.md and docs/OCR.md.' },
  auth: { name: 'Auth', description: 'Who the caller is, and (admins) API tokens per tenant and role. See docs/SECURITY.md.' },
  providers: { name: 'Providers and keys', description: 'Bring your own key: the provider catalog, a tenant\'s encrypted provider keys, the key audit log. See docs/BYOK.md.' },
  optimizer: { name: 'Optimizer', description: 'Which engine or model should do the work, and what it costs (catalog prices). See docs/VISION.md.' },
  usage: { name: 'Usage', description: 'The usage ledger\'s totals, and usage recorded from outside Folio. See docs/VISION.md.' },
  service: { name: 'Service', description: 'This description, its docs page, and the queue dashboard for admins.' },
} as const;
type Tag = (typeof TAGS)[keyof typeof TAGS];

// ---------------------------------------------------------------------------------------------
// Building blocks

/** The error responses, one per status of the error catalog, each listing that status's codes. */
function errorResponses(): Record<string, ResponseObject> {
  return Object.fromEntries(
    ERROR_STATUSES.map((status) => {
      const codes = codesWithStatus(status);
      const headers: Record<string, Header> = {};
      if (status === 401) headers['WWW-Authenticate'] = { description: '`Bearer realm="folio"` (with `error="invalid_token"` for a token that is not valid).', schema: string() };
      if (status === 503) headers['Retry-After'] = retryAfter('Seconds to wait before retrying.');
      const response: ResponseObject = {
        description: codes.map((c) => `\`${c}\`: ${ERROR_CATALOG[c].description}`).join('\n\n'),
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        content: { 'application/json': { schema: errorBody(codes) } },
      };
      return [`Error${status}`, response];
    }),
  );
}

const retryAfter = (description: string): Header => ({ description, schema: integer({ minimum: 0 }) });
const paramRef = (name: keyof ReturnType<typeof parameters>): Reference => ({ $ref: `#/components/parameters/${name}` });

function parameters() {
  return {
    JobId: { name: 'id', in: 'path', required: true, description: 'The job id (another tenant\'s job is a 404).', schema: string({ format: 'uuid' }) },
    ProviderId: { name: 'id', in: 'path', required: true, description: 'A provider id of the catalog.', schema: string({ examples: [...PROVIDER_IDS] }) },
    KeyName: { name: 'name', in: 'path', required: true, description: 'The key\'s name.', schema: string({ pattern: KEY_NAME.source }) },
    TokenId: { name: 'id', in: 'path', required: true, description: 'The token id (from the token list).', schema: string() },
    IdempotencyKey: {
      name: 'Idempotency-Key',
      in: 'header',
      description: 'Retrying with the same key returns the job the first request created (202, `Idempotent-Replayed: true`); while that request is still running, 409 `idempotency_conflict`.',
      schema: string({ pattern: '^[\\x21-\\x7e]{1,255}$' }),
    },
  } satisfies Record<string, Parameter>;
}

const json = (description: string, schema: JsonSchema, headers?: Record<string, Header>): ResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const text = (description: string, mediaType: string): ResponseObject => ({ description, content: { [mediaType]: { schema: string() } } });
const jsonBody = (schema: string, description?: string): RequestBody => ({
  required: true,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema: ref(schema) } },
});

interface OperationSpec {
  id: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** `public`: no token; `caller`: a valid token (any role); `admin`: the admin role. */
  access: 'public' | 'caller' | 'admin';
  parameters?: Array<Parameter | Reference>;
  body?: RequestBody;
  responses: Record<string, ResponseObject>;
  /** Error statuses beyond those every operation of its access level can answer. */
  errors?: number[];
}

/**
 * One operation. Errors every protected operation can answer are added here, not per route:
 * 401 (no valid token), 403 (admin operations), 503 (Redis or S3 did not answer), and for JSON
 * bodies 400 (not JSON) and 413 (over the parser's limit).
 */
function operation(s: OperationSpec): Operation {
  const implied = [
    ...(s.access === 'public' ? [] : [401, 503]),
    ...(s.access === 'admin' ? [403] : []),
    ...(s.body?.content['application/json'] ? [400, 413] : []),
  ];
  const statuses = [...new Set([...(s.errors ?? []), ...implied])].sort((a, b) => a - b);
  for (const status of statuses) if (!ERROR_STATUSES.includes(status)) throw new Error(`no error code has status ${status}`);
  return {
    operationId: s.id,
    summary: s.summary,
    ...(s.description ? { description: s.description } : {}),
    tags: [s.tag.name],
    ...(s.access === 'public' ? { security: [] } : {}),
    ...(s.access === 'admin' ? { 'x-folio-role': 'admin' as const } : {}),
    ...(s.parameters ? { parameters: s.parameters } : {}),
    ...(s.body ? { requestBody: s.body } : {}),
    responses: { ...s.responses, ...Object.fromEntries(statuses.map((st) => [String(st), { $ref: `#/components/responses/Error${st}` }])) },
  };
}

// ---------------------------------------------------------------------------------------------
// The document

export function openApiDocument(): OpenApiDocument {
  const p = paramRef;
  const jobs = `${API_PREFIX}/jobs`;
  const accepted = json('Accepted: the job is queued. Poll `urls.status`.', ref('JobAccepted'), {
    Location: { description: 'The job\'s status URL.', schema: string() },
    'Idempotent-Replayed': { description: '`true` when an Idempotency-Key replay returned an earlier job.', schema: string({ enum: ['true'] }) },
  });

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Folio API',
      version: pkg.version,
      summary: 'Self-hostable PDF ingestion and OCR: upload PDFs, get their text back as JSON, plain text or markdown.',
      description: [
        'Every `/api` call needs `Authorization: Bearer <token>` — the bootstrap `ADMIN_TOKEN`, or a token from `POST /api/v1/auth/tokens` — except in loopback development (HOST a loopback address, NODE_ENV not production, AUTH_REQUIRED `auto` or `false`), where a call without a token acts as the default tenant\'s admin. A token that is sent is always checked.',
        'Errors are `{"error": {"code", "message", "details?"}}` with a stable `code` from the error catalog (docs/ERRORS.md); each error response below lists the codes of its status.',
        'Every response carries `X-Request-Id` (the caller\'s, when it sent a valid one): the log lines of the request carry it too.',
      ].join('\n\n'),
      license: { name: 'Apache 2.0', identifier: 'Apache-2.0' },
    },
    tags: Object.values(TAGS),
    security: [{ bearerAuth: [] }],
    paths: {
      '/healthz': {
        get: operation({ id: 'healthz', tag: TAGS.health, access: 'public', summary: 'Liveness', responses: { 200: json('The process answers.', ref('Health')) } }),
      },
      '/readyz': {
        get: operation({
          id: 'readyz',
          tag: TAGS.health,
          access: 'public',
          summary: 'Readiness: Redis and the object store answer (2 s each)',
          responses: { 200: json('Ready.', ref('Readiness')), 503: json('Not ready: a dependency did not answer.', ref('Readiness')) },
        }),
      },
      '/metrics': {
        get: operation({ id: 'metrics', tag: TAGS.health, access: 'public', summary: 'Prometheus metrics', responses: { 200: text('Prometheus text exposition format.', 'text/plain') } }),
      },
      '/openapi.json': {
        get: operation({ id: 'openapi', tag: TAGS.service, access: 'public', summary: 'This OpenAPI 3.1 document', responses: { 200: json('The document.', ref('OpenApiDocument')) } }),
      },
      '/docs': {
        get: operation({ id: 'docs', tag: TAGS.service, access: 'public', summary: 'The API reference as a page (self-contained: no scripts, nothing fetched)', responses: { 200: text('HTML.', 'text/html') } }),
      },
      [QUEUE_UI_PATH]: {
        get: operation({
          id: 'queueDashboard',
          tag: TAGS.service,
          access: 'admin',
          summary: 'Queue dashboard (Bull Board), read-only',
          description: `The queues plan, pages, ocr, assemble, maintenance and webhooks: counts, jobs, failures. Its assets and its own JSON API live under \`${QUEUE_UI_PATH}/\` with the same access rule. A browser does not send bearer tokens by itself: outside loopback development, put it behind a proxy that adds the header.`,
          responses: { 200: text('The dashboard page.', 'text/html') },
        }),
      },

      // Documents ---------------------------------------------------------------------------
      [`${API_PREFIX}/process`]: {
        post: operation({
          id: 'processPdf',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'Upload a PDF to process',
          description: 'Streams the `file` part to storage (never buffered whole) and queues the job. Options as further multipart fields; see docs/OCR.md and docs/VISION.md.',
          parameters: [p('IdempotencyKey')],
          body: { required: true, content: { 'multipart/form-data': { schema: ref('ProcessUpload'), encoding: { file: { contentType: 'application/pdf' } } } } },
          responses: { 202: accepted },
          errors: [400, 409, 413, 415],
        }),
      },
      [`${API_PREFIX}/process-url`]: {
        post: operation({
          id: 'processUrl',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'Let Folio fetch a PDF from a URL and process it',
          description: 'Public http(s) addresses only (redirects re-checked; private, loopback, link-local and metadata addresses refused) unless URL_FETCH_ALLOW_LIST admits them.',
          parameters: [p('IdempotencyKey')],
          body: jsonBody('ProcessUrlRequest'),
          responses: { 202: accepted },
          errors: [400, 409, 413, 415, 422],
        }),
      },
      [jobs]: {
        get: operation({
          id: 'listJobs',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'The tenant\'s recent jobs, newest first',
          parameters: [
            { name: 'status', in: 'query', description: 'Only jobs in this state.', schema: { type: 'string', enum: [...JOB_STATUSES] } },
            { name: 'limit', in: 'query', schema: integer({ minimum: 1, maximum: 200, default: 50 }) },
          ],
          responses: { 200: json('The jobs.', ref('JobList')) },
          errors: [400],
        }),
      },
      [`${jobs}/{id}`]: {
        get: operation({
          id: 'getJob',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'A job: status, progress in pages, timings, cost, error, webhook deliveries',
          parameters: [p('JobId')],
          responses: { 200: json('The job.', ref('JobView'), { 'Retry-After': retryAfter('While the job runs: seconds before polling again.') }) },
          errors: [404],
        }),
        delete: operation({
          id: 'deleteJob',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'Cancel a running job, or delete a finished one (its upload and results go too)',
          parameters: [p('JobId')],
          responses: { 200: json('Cancelled or deleted.', ref('JobDeleted')) },
          errors: [404],
        }),
      },
      [`${jobs}/{id}/events`]: {
        get: operation({
          id: 'getJobEvents',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'Live status: the job\'s events as Server-Sent Events',
          description: [
            'First `event: status` with the job view (no id), then every event of the job in order: `id: <event id>`, `event: progress|status`, `data: {type, status, pages_total, pages_done, pages_failed, at}`. The stream ends after the terminal status event.',
            '`Last-Event-ID` (or `?last_event_id=`) replays only the events after that id. `: ping` comments arrive every SSE_HEARTBEAT_MS. Each API process serves at most SSE_MAX_STREAMS streams (503 `too_many_streams` beyond). See docs/CLIENTS.md.',
          ].join('\n\n'),
          parameters: [
            p('JobId'),
            { name: 'Last-Event-ID', in: 'header', description: 'Resume after this event id.', schema: string({ pattern: '^\\d+-\\d+$' }) },
            { name: 'last_event_id', in: 'query', description: 'Same as the `Last-Event-ID` header (for clients that cannot set headers).', schema: string({ pattern: '^\\d+-\\d+$' }) },
          ],
          responses: { 200: text('An event stream (`text/event-stream`).', 'text/event-stream') },
          errors: [400, 404],
        }),
      },
      [`${jobs}/{id}/result`]: {
        get: operation({
          id: 'getJobResult',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'The result of a completed (or partial) job',
          description: '`json`: `document.json`, per page its text, engine, timing (and OCR words with boxes). `text`: pages separated by form feeds. `markdown`: paragraphs, each page opened by an HTML comment.',
          parameters: [p('JobId'), { name: 'format', in: 'query', schema: { type: 'string', enum: [...RESULT_FORMATS], default: 'json' } }],
          responses: {
            200: {
              description: 'The result in the requested format.',
              content: { 'application/json': { schema: ref('DocumentResult') }, 'text/plain': { schema: string() }, 'text/markdown': { schema: string() } },
            },
            409: {
              description: '`job_not_finished`: the job has no result (yet): `details` holds its status and error.',
              headers: { 'Retry-After': retryAfter('While the job runs: seconds before asking again.') },
              content: { 'application/json': { schema: errorBody(['job_not_finished']) } },
            },
          },
          errors: [400, 404],
        }),
      },
      [`${API_PREFIX}/status`]: {
        get: operation({
          id: 'serviceStatus',
          tag: TAGS.documents,
          access: 'caller',
          summary: 'Queue depths, page workers and limits',
          responses: { 200: json('The service status.', ref('ServiceStatus')) },
        }),
      },

      // Auth ------------------------------------------------------------------------------
      '/api/v1/auth/whoami': {
        get: operation({ id: 'whoami', tag: TAGS.auth, access: 'caller', summary: 'The caller\'s name, role and tenant', responses: { 200: json('The caller.', ref('Principal')) } }),
      },
      '/api/v1/auth/tokens': {
        post: operation({
          id: 'createToken',
          tag: TAGS.auth,
          access: 'admin',
          summary: 'Create an API token (its secret is shown once)',
          body: jsonBody('NewToken'),
          responses: { 201: json('The token, with its secret.', ref('TokenCreated')) },
        }),
        get: operation({ id: 'listTokens', tag: TAGS.auth, access: 'admin', summary: 'Every stored token, without secrets', responses: { 200: json('The tokens.', ref('TokenList')) } }),
      },
      '/api/v1/auth/tokens/{id}': {
        delete: operation({
          id: 'revokeToken',
          tag: TAGS.auth,
          access: 'admin',
          summary: 'Revoke a token',
          parameters: [p('TokenId')],
          responses: { 200: json('Revoked.', ref('TokenRevoked')) },
          errors: [404],
        }),
      },

      // Providers and keys -----------------------------------------------------------------
      '/api/ai/providers': {
        get: operation({
          id: 'listProviders',
          tag: TAGS.providers,
          access: 'caller',
          summary: 'The provider catalog: status, capabilities, models and prices, key presence, usage',
          responses: { 200: json('The providers.', ref('ProviderList')) },
        }),
      },
      '/api/ai/providers/{id}': {
        get: operation({
          id: 'getProvider',
          tag: TAGS.providers,
          access: 'caller',
          summary: 'One provider',
          parameters: [p('ProviderId')],
          responses: { 200: json('The provider.', ref('ProviderView')) },
          errors: [404],
        }),
        patch: operation({
          id: 'updateProvider',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'Edit a provider (kept over newer bundled catalog versions)',
          parameters: [p('ProviderId')],
          body: jsonBody('ProviderPatch'),
          responses: { 200: json('The provider after the change.', ref('ProviderView')) },
          errors: [404],
        }),
      },
      '/api/ai/providers/{id}/keys': {
        post: operation({
          id: 'storeKey',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'Store (or replace) a provider key',
          parameters: [p('ProviderId')],
          body: jsonBody('NewKey'),
          responses: { 201: json('Stored: its fingerprint and last four characters, never the key.', ref('KeyStatus')) },
          errors: [404],
        }),
        get: operation({
          id: 'listKeys',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'The tenant\'s keys of a provider',
          parameters: [p('ProviderId')],
          responses: { 200: json('The keys.', ref('KeyList')) },
          errors: [404],
        }),
      },
      '/api/ai/providers/{id}/keys/{name}': {
        get: operation({
          id: 'getKey',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'A key\'s status',
          parameters: [p('ProviderId'), p('KeyName')],
          responses: { 200: json('The key.', ref('KeyStatus')) },
          errors: [404],
        }),
        delete: operation({
          id: 'deleteKey',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'Delete a key, or only its replaced (previous) one',
          parameters: [p('ProviderId'), p('KeyName'), { name: 'previous', in: 'query', description: '`true`: revoke only the replaced key.', schema: { type: 'string', enum: ['true', 'false'] } }],
          responses: { 200: json('Deleted.', ref('KeyDeleted')) },
          errors: [404],
        }),
      },
      '/api/ai/providers/{id}/keys/{name}/verify': {
        post: operation({
          id: 'verifyKey',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'Check a key against its provider (one authenticated list-models call)',
          description: 'A key the provider rejects is marked `invalid` and skipped from then on; a key that works is marked `active`.',
          parameters: [p('ProviderId'), p('KeyName')],
          responses: { 200: json('The outcome (a rejected key is a 200 with `ok: false`).', ref('KeyCheck')) },
          errors: [404, 500],
        }),
      },
      '/api/ai/pdf/providers': {
        get: operation({
          id: 'listPdfProviders',
          tag: TAGS.providers,
          access: 'caller',
          summary: 'The providers that can read PDF pages (and the local engines)',
          responses: { 200: json('The providers.', ref('PdfProviders')) },
        }),
      },
      '/api/ai/health': {
        get: operation({ id: 'aiHealth', tag: TAGS.providers, access: 'caller', summary: 'Key encryption, providers\' readiness and invalid keys', responses: { 200: json('The key store\'s health.', ref('AiHealth')) } }),
      },
      '/api/ai/audit': {
        get: operation({
          id: 'auditLog',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'The tenant\'s key audit log, newest first',
          parameters: [{ name: 'limit', in: 'query', description: '1–1000 (out-of-range values are clamped).', schema: integer({ minimum: 1, maximum: 1000, default: 100 }) }],
          responses: { 200: json('The entries.', ref('AuditLog')) },
        }),
      },
      '/api/ai/keys/rewrap': {
        post: operation({
          id: 'rewrapKeys',
          tag: TAGS.providers,
          access: 'admin',
          summary: 'Re-wrap every tenant\'s data keys under the current master key (after a rotation)',
          responses: { 200: json('Done (idempotent).', ref('RewrapResult')) },
        }),
      },

      // Optimizer and usage ------------------------------------------------------------------
      '/api/ai/pdf/optimize': {
        post: operation({
          id: 'optimizePdf',
          tag: TAGS.optimizer,
          access: 'caller',
          summary: 'Which engine should read a document\'s pages, and at what cost',
          body: jsonBody('OptimizeRequest'),
          responses: { 200: json('The recommendation, alternatives, cascade and every candidate, explained.', ref('Optimization')) },
        }),
      },
      '/api/ai/optimize-cost': {
        post: operation({
          id: 'optimizeCost',
          tag: TAGS.optimizer,
          access: 'caller',
          summary: 'Cost of a generic call on every active model: cheapest and best',
          body: jsonBody('OptimizeCostRequest'),
          responses: { 200: json('The recommendation and every candidate, explained.', ref('CostOptimization')) },
        }),
      },
      '/api/ai/usage/stats': {
        get: operation({
          id: 'usageStats',
          tag: TAGS.usage,
          access: 'caller',
          summary: 'Usage totals of the tenant (admins: of everyone, with all=true)',
          parameters: [
            { name: 'from', in: 'query', description: 'First UTC day (YYYY-MM-DD).', schema: string({ format: 'date' }) },
            { name: 'to', in: 'query', description: 'Last UTC day (YYYY-MM-DD).', schema: string({ format: 'date' }) },
            { name: 'all', in: 'query', description: 'Admins: every tenant.', schema: { type: 'string', enum: ['true', 'false'] } },
          ],
          responses: { 200: json('The totals: overall, per provider, model and day.', ref('UsageStats')) },
          errors: [400],
        }),
      },
      '/api/ai/budget': {
        get: operation({
          id: 'getBudget',
          tag: TAGS.usage,
          access: 'caller',
          summary: 'The tenant\'s monthly budget for provider calls, and what this month has spent and holds',
          responses: { 200: json('The budget.', ref('Budget')) },
        }),
        put: operation({
          id: 'setBudget',
          tag: TAGS.usage,
          access: 'admin',
          summary: 'Set the tenant\'s monthly budget (null: none)',
          description: 'Enforced at admission: a provider call whose worst case would pass it is not made (the page falls back or fails with `budget_exceeded`).',
          body: jsonBody('BudgetRequest'),
          responses: { 200: json('The budget after the change.', ref('Budget')) },
        }),
      },
      '/api/ai/usage/track': {
        post: operation({
          id: 'trackUsage',
          tag: TAGS.usage,
          access: 'caller',
          summary: 'Record usage of a provider call made outside Folio (once per id)',
          body: jsonBody('UsageTrackRequest'),
          responses: { 201: json('Recorded.', ref('UsageTracked')), 200: json('Already recorded under this id.', ref('UsageTracked')) },
          errors: [404],
        }),
      },
    },
    components: {
      schemas: componentSchemas,
      responses: errorResponses(),
      parameters: parameters(),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'The bootstrap ADMIN_TOKEN or a token from POST /api/v1/auth/tokens. Loopback development (HOST a loopback address, NODE_ENV not production, AUTH_REQUIRED `auto` or `false`) may run without tokens: a call without one acts as the default tenant\'s admin.',
        },
      },
    },
  };
}
