/** Runs the HTTP API alone (scale-out: workers run elsewhere on the same Redis and S3). */
import { createLogger, createMetricsRegistry, loadConfig, onShutdown, resolveInfrastructure } from '@folio/shared';
import { startApi } from './server.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: 'folio-api' });
const infra = await resolveInfrastructure(config, { embedded: false, logger });
const api = await startApi(infra.config, { logger, registry: createMetricsRegistry('api') });
onShutdown(logger, [
  { name: 'api', run: () => api.close() },
  { name: 'infrastructure', run: () => infra.stop() },
]);
