/**
 * Types of the Folio API, written by hand from its OpenAPI 3.1 document (`GET /openapi.json`,
 * built in services/api/src/openapi/). Field names are the API's (snake_case).
 */

export const JOB_STATUSES = ['queued', 'planning', 'processing', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'partial', 'failed', 'cancelled']);
export const isTerminalStatus = (s: string): boolean => TERMINAL_STATUSES.has(s as JobStatus);

export type ResultFormat = 'json' | 'text' | 'markdown';
export type Quality = 'high' | 'balanced' | 'low_cost';

/** Processing options (`ProcessOptions`): multipart fields of `process`, JSON fields of `process-url`. */
export interface ProcessOptions {
  /** Opens a PDF encrypted with a user password. */
  password?: string;
  /** `auto`: text layer where usable, OCR elsewhere; `always`: OCR every page; `never`: text layer only. */
  ocr?: 'auto' | 'always' | 'never';
  /** The seed API's flag: `true` is `ocr=auto`, `false` is `ocr=never`. */
  use_ocr?: boolean;
  /** Tesseract language codes: `eng+fra` or `['eng', 'fra']` (one to five). */
  languages?: string | string[];
  /** Rendering resolution for OCR (72–600). */
  dpi?: number;
  /** `tesseract` (default), `auto`, or a provider id (`openai`, `anthropic`, …). */
  ai_provider?: string;
  model?: string;
  quality?: Quality;
  fallback_strategy?: 'cascade' | 'none';
  /** Hard cap on this job's provider spend, USD. */
  budget_constraint?: number;
  use_advanced_comprehension?: boolean;
}

/** Options of one `process` call: the processing options and how to send them. */
export interface SubmitOptions extends ProcessOptions {
  /** Sent as `Idempotency-Key`: retrying with the same key returns the job the first request created. */
  idempotencyKey?: string;
  /** The file name the server records (default: the path's base name, else `document.pdf`). */
  filename?: string;
  signal?: AbortSignal;
}

export interface JobUrls {
  status: string;
  result: string;
}

export interface JobAccepted {
  job_id: string;
  status: JobStatus;
  urls: JobUrls;
  /** True when an Idempotency-Key replay returned an earlier job (`Idempotent-Replayed: true`). */
  replayed: boolean;
}

/** The options a job runs with, every default filled in (`JobOptions`). */
export interface JobOptions {
  ocr: 'auto' | 'always' | 'never';
  languages: string[];
  dpi: number;
  engine: string;
  model?: string;
  quality: Quality;
  fallback: 'cascade' | 'none';
  budgetUsd?: number;
  advanced: boolean;
}

export interface Cost {
  micro_usd: number;
  usd: number;
}

export interface JobError {
  code: string;
  message: string;
}

export interface EngineEstimate {
  provider: string;
  model: string;
  quality: number;
  local: boolean;
  input_tokens_per_page: number;
  output_tokens_per_page: number;
  cost_per_page_usd: number;
  estimated_cost_usd: number;
  worst_case_cost_usd: number;
  within_budget: boolean;
  usable: boolean;
}

export interface EnginePlan {
  strategy: 'auto' | 'provider';
  quality: Quality;
  fallback_strategy: 'cascade' | 'none';
  recommended_provider: EngineEstimate | null;
  alternatives: { high_quality: EngineEstimate | null; cost_effective: EngineEstimate | null };
  cascade: Array<{ provider: string; model?: string }>;
  estimated_cost_usd: number | null;
  explanation: string[];
}

export interface JobProgress {
  pages_total: number | null;
  pages_done: number;
  pages_failed: number;
  percent: number;
}

/** `JobView`: a job's status, progress in pages, timings, cost and error. */
export interface JobView {
  job_id: string;
  status: JobStatus;
  filename: string;
  size_bytes: number;
  sha256: string;
  source: 'upload' | 'url';
  source_url?: string;
  options: JobOptions;
  progress: JobProgress;
  timings: { created_at: string; started_at: string | null; finished_at: string | null; duration_ms: number | null };
  expires_at: string;
  byok_optimization?: EnginePlan;
  cost: Cost;
  error: JobError | null;
  urls: JobUrls;
}

export interface JobList {
  jobs: JobView[];
  count: number;
}

export interface JobDeleted {
  job_id: string;
  status: 'cancelled' | 'deleted';
  deleted: true;
}

export interface DocumentPage {
  page: number;
  /** `text_layer`, `tesseract`, `tesseract.js`, a provider id, or `none` (failed). */
  engine: string;
  classification?: 'text' | 'mixed' | 'image' | 'garbage' | 'blank';
  text: string;
  chars: number;
  confidence?: number;
  timing_ms: number;
  render?: { dpi: number; requested_dpi: number; capped: boolean; ms: number };
  ocr_ms?: number;
  model?: string;
  tokens?: { input: number; output: number };
  cost_usd?: number;
  attempts?: Array<{ engine: string; model?: string; outcome: 'ok' | 'skipped' | 'failed'; reason?: string }>;
  words?: Array<{ text: string; confidence: number; bbox: [number, number, number, number] }>;
  error?: JobError;
}

/** `DocumentResult` (`document.json`): per page its text, engine and timing. */
export interface DocumentResult {
  job_id: string;
  status: 'completed' | 'partial' | 'failed';
  filename: string;
  sha256: string;
  page_count: number;
  /** Pages per engine. */
  engines: Record<string, number>;
  cost: Cost;
  byok_optimization?: EnginePlan & { actual_cost_usd: number };
  pages: DocumentPage[];
}

export interface KeyStatus {
  provider: string;
  key_name: string;
  environment: string;
  status: 'active' | 'invalid';
  fingerprint: string;
  last4: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  invalid_reason?: string;
  previous?: { fingerprint: string; last4: string; replaced_at: string };
}

export interface KeyList {
  provider: string;
  keys: KeyStatus[];
}

export interface KeyDeleted {
  provider: string;
  key_name: string;
  deleted: 'key' | 'previous';
}

export interface UsageTotals {
  [metric: string]: number;
  cost_usd: number;
}

export interface UsageStats {
  tenant: string | null;
  totals: UsageTotals;
  by_provider: Record<string, UsageTotals>;
  by_model: Record<string, Record<string, UsageTotals>>;
  by_day: Record<string, UsageTotals>;
  zero_priced: number;
}

/** One Server-Sent Event as received (`data` joined with newlines, as the wire format says). */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

/** A job event: the SSE event with its `data` parsed as JSON when it is JSON. */
export interface JobEvent extends ServerSentEvent {
  json: unknown;
}
