/**
 * `npm start`: the API and the workers in one process, with Redis and S3 filled in where the
 * configuration leaves them out (see resolveInfrastructure): a fresh machine needs nothing else.
 */
import { ConfigError, InfrastructureError, createLogger, loadConfig, onShutdown, resolveInfrastructure } from '@folio/shared';
import { startStack } from './stack.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({ level: config.logLevel, name: 'folio' });
let infra;
try {
  infra = await resolveInfrastructure(config, { embedded: true, logger });
} catch (err) {
  if (err instanceof InfrastructureError) {
    logger.fatal(err.message);
    process.exit(2);
  }
  throw err;
}
const stack = await startStack(infra.config, { logger });
logger.info({ url: stack.url }, 'Folio is ready');
onShutdown(logger, [
  { name: 'api and workers', run: () => stack.close() },
  { name: 'infrastructure', run: () => infra.stop() },
]);
