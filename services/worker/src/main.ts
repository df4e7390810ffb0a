/** Runs the workers alone (scale-out: as many processes as wanted on the same Redis and S3). */
import http from 'node:http';
import { createLogger, createMetricsRegistry, loadConfig, onShutdown, resolveInfrastructure } from '@folio/shared';
import { startWorkers } from './worker-set.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: 'folio-worker' });
const infra = await resolveInfrastructure(config, { embedded: false, logger });
const registry = createMetricsRegistry('worker');
const workers = await startWorkers(infra.config, { logger, registry });
// Workers serve only /metrics and /healthz, on PORT (default 5058; give each process its own).
const metricsServer = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      },
      (err: unknown) => {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics collection failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  } else if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(404).end();
  }
});
metricsServer.listen(infra.config.http.port, infra.config.http.host, () => logger.info({ port: infra.config.http.port }, 'worker metrics listening'));
onShutdown(logger, [
  { name: 'workers', run: () => workers.close() },
  { name: 'metrics', run: () => new Promise<void>((r) => metricsServer.close(() => r())) },
  { name: 'infrastructure', run: () => infra.stop() },
]);
