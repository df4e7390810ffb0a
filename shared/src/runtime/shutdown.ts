import type { Logger } from '../logging/logger.ts';

/**
 * Runs `steps` in order on SIGTERM/SIGINT: stop taking work first, close connections last. A second
 * signal, or `forceAfterMs` passing, exits at once.
 */
export function onShutdown(logger: Logger, steps: Array<{ name: string; run: () => Promise<void> }>, forceAfterMs = 30_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, forceAfterMs).unref();
    void (async () => {
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          logger.error({ step: step.name, err: err instanceof Error ? err.message : String(err) }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
