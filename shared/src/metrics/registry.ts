import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process role, injected wherever metrics are recorded (never the global one). */
export function createMetricsRegistry(role: 'api' | 'worker' | 'standalone'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'folio_' });
  return registry;
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: new Counter({
      name: 'folio_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'folio_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export interface JobMetrics {
  jobsFinished: Counter<'status'>;
  pagesProcessed: Counter<'engine' | 'outcome'>;
  jobDuration: Histogram<'status'>;
}

export function createJobMetrics(registry: Registry): JobMetrics {
  return {
    jobsFinished: new Counter({
      name: 'folio_jobs_finished_total',
      help: 'Documents that reached a terminal state, by final status.',
      labelNames: ['status'],
      registers: [registry],
    }),
    pagesProcessed: new Counter({
      name: 'folio_pages_processed_total',
      help: 'Pages assembled into results, by engine and outcome (ok or failed).',
      labelNames: ['engine', 'outcome'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'folio_job_duration_seconds',
      help: 'Time from upload to terminal state, by final status.',
      labelNames: ['status'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers: [registry],
    }),
  };
}
