export { FolioClient, isTerminalEvent, type EventsOptions, type FolioClientOptions, type ProcessInput, type WaitOptions } from './client.ts';
export { FolioError, NotFoundError, UnauthorizedError, ValidationError, UnavailableError, errorFromResponse, parseRetryAfter } from './errors.ts';
export { SseParser, parseSse } from './sse.ts';
export { backoffDelay, pollDelay, sleep, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export * from './types.ts';
