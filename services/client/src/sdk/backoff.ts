/** Polling delays: exponential backoff that never asks sooner than the server's `Retry-After`. */

export interface BackoffOptions {
  /** The first delay (default 250 ms). */
  initialMs?: number;
  /** The longest delay the backoff itself reaches (default 5 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** The longest `Retry-After` honoured as given (default 60 s): a larger one is cut to this. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 5_000, factor: 2, maxRetryAfterMs: 60_000 } as const;

/** The backoff delay of attempt `attempt` (0-based): initial × factor^attempt, at most maxMs. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const factor = opts.factor ?? DEFAULT_BACKOFF.factor;
  return Math.min(max, initial * factor ** Math.max(0, attempt));
}

/**
 * The delay before the next poll: the backoff delay, or the server's `Retry-After` when that is
 * longer (the server asked not to be polled sooner), capped at maxRetryAfterMs.
 */
export function pollDelay(attempt: number, retryAfterMs: number | undefined, opts: BackoffOptions = {}): number {
  const backoff = backoffDelay(attempt, opts);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, opts.maxRetryAfterMs ?? DEFAULT_BACKOFF.maxRetryAfterMs));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
