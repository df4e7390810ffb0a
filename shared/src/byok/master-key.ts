import fs from 'node:fs';
import path from 'node:path';
import { withOverrides, type Config } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { generateMasterKey, parseKeyring, type Keyring } from './crypto/index.ts';

/**
 * The master keyring: BYOK_ENCRYPTION_KEY when set (production refuses to start without it, see
 * loadConfig); in development a key generated once under DATA_DIR (file mode 0600), so stored keys
 * survive restarts. The returned config carries the keyring text to worker threads.
 */
export function resolveMasterKey(config: Config, logger: Logger): { config: Config; keyring: Keyring } {
  if (config.byok.encryptionKey !== undefined) {
    return { config, keyring: parseKeyring(config.byok.encryptionKey) };
  }
  const file = path.join(config.dataDir, 'byok-master.key');
  let text: string;
  if (fs.existsSync(file)) {
    text = fs.readFileSync(file, 'utf8').trim();
  } else {
    fs.mkdirSync(config.dataDir, { recursive: true });
    text = `v1:${generateMasterKey()}`;
    // wx: never overwrite a key another process just wrote.
    try {
      fs.writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
      logger.warn({ file }, 'created a development master key for stored provider keys; set BYOK_ENCRYPTION_KEY in production');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      text = fs.readFileSync(file, 'utf8').trim();
    }
  }
  const resolved = withOverrides(config, { byok: { encryptionKey: text } });
  return { config: resolved, keyring: parseKeyring(text) };
}
