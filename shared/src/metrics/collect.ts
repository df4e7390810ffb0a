import type { Metric, Registry } from 'prom-client';

/** How long a scrape waits for Redis before it answers with the last values read. */
export const DEFAULT_COLLECT_TIMEOUT_MS = 2_000;

/** `p`, or a rejection after `ms` (the late outcome of `p` is ignored). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref?.();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * One read shared by every metric of a scrape (they collect in parallel): concurrent callers get
 * the same in-flight read, and a read younger than `maxAgeMs` is reused. A read that fails or
 * times out leaves the last good value (undefined before the first one): a scrape while Redis is
 * down answers in bounded time with the last values.
 */
export class SharedRead<T> {
  private readonly read: () => Promise<T>;
  private readonly timeoutMs: number;
  private readonly maxAgeMs: number;
  private readonly what: string;
  private last: T | undefined;
  private lastAt = 0;
  private inflight: Promise<T | undefined> | undefined;

  constructor(what: string, read: () => Promise<T>, opts: { timeoutMs?: number; maxAgeMs?: number } = {}) {
    this.what = what;
    this.read = read;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
    this.maxAgeMs = opts.maxAgeMs ?? 250;
  }

  get(): Promise<T | undefined> {
    if (this.last !== undefined && Date.now() - this.lastAt < this.maxAgeMs) return Promise.resolve(this.last);
    this.inflight ??= withDeadline(this.read(), this.timeoutMs, this.what)
      .then(
        (v) => {
          this.last = v;
          this.lastAt = Date.now();
          return v;
        },
        () => this.last,
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}

/**
 * The metric named `name` if this registry has it already, else `make()`'s. The standalone
 * process gives the API and the workers one registry: whoever registers first wins, the other
 * records into the same metric.
 */
export function registered<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as unknown as M | undefined) ?? make();
}

/** Adds a metric object that is not one of prom-client's classes (e.g. a histogram read from Redis). */
export function registerCustom(registry: Registry, metric: { name: string; get(): Promise<unknown>; reset(): void }): void {
  registry.registerMetric(metric as unknown as Metric);
}
