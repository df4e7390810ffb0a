import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino masks wherever they appear in a log object: credentials must never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.api_key',
  '*.apiKey',
  '*.secretAccessKey',
  'password',
  'options.password',
];

/** JSON lines on stdout, or on `destination` (tests capture every line this way). */
export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  const opts = {
    level: options.level,
    ...(options.name === undefined ? {} : { name: options.name }),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
