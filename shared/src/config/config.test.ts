import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, withOverrides } from './config.ts';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http).toEqual({ host: '127.0.0.1', port: 5058 });
    expect(c.redis).toEqual({ url: undefined, prefix: 'folio' });
    expect(c.s3.bucket).toBe('folio');
    expect(c.processing.textChunkPages).toBe(32);
    expect(c.limits.maxUploadBytes).toBe(200 * 1024 * 1024);
    expect(c.urlFetch.allowList).toEqual([]);
  });

  it('parses numbers, booleans and lists, and treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '8080', S3_FORCE_PATH_STYLE: 'false', URL_FETCH_ALLOW_LIST: ' 10.0.0.0/8, files.internal ,', REDIS_URL: '' });
    expect(c.http.port).toBe(8080);
    expect(c.s3.forcePathStyle).toBe(false);
    expect(c.urlFetch.allowList).toEqual(['10.0.0.0/8', 'files.internal']);
    expect(c.redis.url).toBeUndefined();
  });

  it('lists every problem at once', () => {
    try {
      loadConfig({ PORT: 'eighty', MAX_PAGES: '-1', S3_ACCESS_KEY_ID: 'only-one' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).toContain('PORT');
      expect(issues).toContain('MAX_PAGES');
    }
    expect(() => loadConfig({ S3_ACCESS_KEY_ID: 'only-one' })).toThrow(/set both or neither/);
  });

  it('requires tokens except on loopback outside production, and refuses to run open elsewhere', () => {
    expect(loadConfig({}).auth.required).toBe(false);
    expect(loadConfig({ HOST: '0.0.0.0' }).auth.required).toBe(true);
    const key = `v1:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(loadConfig({ NODE_ENV: 'production', BYOK_ENCRYPTION_KEY: key, WEBHOOK_SIGNING_SECRET: 'w'.repeat(32) }).auth.required).toBe(true);
    expect(loadConfig({ AUTH_REQUIRED: 'true' }).auth.required).toBe(true);
    expect(() => loadConfig({ HOST: '0.0.0.0', AUTH_REQUIRED: 'false' })).toThrow(/only allowed when HOST is a loopback/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_REQUIRED: 'false', BYOK_ENCRYPTION_KEY: key })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/);
  });

  it('refuses production without a master key, and a malformed keyring, without echoing it', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/BYOK_ENCRYPTION_KEY is required in production/);
    try {
      loadConfig({ BYOK_ENCRYPTION_KEY: 'v1:not-base64-secretish-material' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues.join('\n')).toContain('BYOK_ENCRYPTION_KEY');
      expect((err as Error).message).not.toContain('secretish');
    }
  });

  it('returns a frozen object, and overrides make a new frozen copy', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    const o = withOverrides(c, { redis: { url: 'redis://127.0.0.1:1' } });
    expect(o.redis.url).toBe('redis://127.0.0.1:1');
    expect(o.redis.prefix).toBe('folio');
    expect(c.redis.url).toBeUndefined();
    expect(Object.isFrozen(o.redis)).toBe(true);
  });
});
