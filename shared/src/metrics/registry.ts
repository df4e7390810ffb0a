import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registered } from './collect.ts';

export * from './cluster-counters.ts';
export * from './cluster-metrics.ts';
export * from './queue-metrics.ts';
export { withDeadline, DEFAULT_COLLECT_TIMEOUT_MS } from './collect.ts';

/**
 * prom-client's default metrics include three gauges named `*_total` (the sums of the per-type
 * `folio_nodejs_active_{handles,requests,resources}` gauges), which `promtool check metrics`
 * rejects; they add nothing a `sum()` does not give.
 */
const LINT_FAILING_DEFAULTS = ['folio_nodejs_active_handles_total', 'folio_nodejs_active_requests_total', 'folio_nodejs_active_resources_total'];

/** One registry per process role, injected wherever metrics are recorded (never the global one). */
export function createMetricsRegistry(role: 'api' | 'worker' | 'standalone'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'folio_' });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: registered(registry, 'folio_http_requests_total', () => new Counter({
      name: 'folio_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    })),
    duration: registered(registry, 'folio_http_request_duration_seconds', () => new Histogram({
      name: 'folio_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    })),
  };
}

export interface JobMetrics {
  jobsFinished: Counter<'status'>;
  pagesProcessed: Counter<'engine' | 'outcome'>;
  jobDuration: Histogram<'status'>;
  pageDuration: Histogram<'engine'>;
}

/** Recorded at assemble (the main thread sees every page's result); safe to call twice on one registry. */
export function createJobMetrics(registry: Registry): JobMetrics {
  return {
    jobsFinished: registered(registry, 'folio_jobs_finished_total', () => new Counter({
      name: 'folio_jobs_finished_total',
      help: 'Documents that reached a terminal state, by final status.',
      labelNames: ['status'],
      registers: [registry],
    })),
    pagesProcessed: registered(registry, 'folio_pages_processed_total', () => new Counter({
      name: 'folio_pages_processed_total',
      help: 'Pages assembled into results, by engine (text_layer, tesseract, tesseract.js, a provider id, none) and outcome (ok or failed).',
      labelNames: ['engine', 'outcome'],
      registers: [registry],
    })),
    jobDuration: registered(registry, 'folio_job_duration_seconds', () => new Histogram({
      name: 'folio_job_duration_seconds',
      help: 'Time from upload to terminal state, by final status.',
      labelNames: ['status'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers: [registry],
    })),
    pageDuration: registered(registry, 'folio_page_duration_seconds', () => new Histogram({
      name: 'folio_page_duration_seconds',
      help: 'Time to read one page, by the engine that produced its result (text_layer, tesseract, tesseract.js, a provider id, or none when it failed); includes engines tried before it.',
      labelNames: ['engine'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    })),
  };
}

/** The `engine` label of a page result: its engine id when it looks like one, else `other` (bounded). */
export function pageEngineLabel(engine: string | undefined): string {
  if (engine === undefined || engine === '') return 'none';
  return /^[a-z0-9][a-z0-9_.-]{0,39}$/.test(engine) ? engine : 'other';
}
