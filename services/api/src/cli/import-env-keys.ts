/**
 * `npm run keys:import-env [-- --tenant T --environment E --name N]`: stores the provider keys found
 * in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, …) in the encrypted key store — the
 * migration path from environment-only setups. Prints what it stored (fingerprints and last four
 * characters, never the keys); existing keys of the same name are replaced (and kept as previous).
 */
import { parseArgs } from 'node:util';
import {
  ENVIRONMENTS,
  KEY_NAME,
  KeyStore,
  Secret,
  TENANT,
  createLogger,
  createRedis,
  loadConfig,
  resolveInfrastructure,
  resolveMasterKey,
  type KeyEnvironment,
} from '@folio/shared';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    environment: { type: 'string' },
    name: { type: 'string', default: 'env-import' },
  },
});
const config = loadConfig(process.env);
const tenant = values.tenant ?? config.auth.defaultTenant;
const environment = (values.environment ?? config.byok.environment) as KeyEnvironment;
if (!TENANT.test(tenant) || !ENVIRONMENTS.includes(environment) || !KEY_NAME.test(values.name)) {
  console.error('usage: keys:import-env [--tenant t] [--environment development|staging|production] [--name key-name]');
  process.exit(2);
}
const logger = createLogger({ level: 'warn', name: 'folio-keys' });
const infra = await resolveInfrastructure(config, { embedded: false, logger });
const { keyring } = resolveMasterKey(infra.config, logger);
const redis = createRedis(infra.config.redis.url!, 'producer', logger, 'keys-import');
const keys = new KeyStore(redis, infra.config.redis.prefix, keyring);
const found = Object.entries(infra.config.byok.envKeys);
if (found.length === 0) console.log('No provider keys in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, …).');
for (const [provider, key] of found) {
  const status = await keys.put(tenant, provider, { keyName: values.name, environment, apiKey: new Secret(key.trim()) }, 'keys:import-env');
  console.log(`${provider}: stored as ${tenant}/${status.key_name} (${environment}) ${status.fingerprint} …${status.last4}`);
}
redis.disconnect();
await infra.stop();
