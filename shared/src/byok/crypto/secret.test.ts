import { Writable } from 'node:stream';
import util from 'node:util';
import v8 from 'node:v8';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { fingerprint } from './fingerprint.ts';
import { Secret } from './secret.ts';

const VALUE = 'sk-live-4f9c2e71b8d04a6e9f3c5b7a1d2e8f60WXYZ';

/** Every rendering must hide the value and every recognisable slice of it. */
function expectHidden(rendered: unknown): void {
  const text = typeof rendered === 'string' ? rendered : String(rendered);
  expect(text).not.toContain(VALUE);
  expect(text).not.toContain(VALUE.slice(0, 12));
  expect(text).not.toContain(VALUE.slice(-12));
}

describe('Secret', () => {
  const secret = new Secret(VALUE);

  it('reveals the value only through reveal()', () => {
    expect(secret.reveal()).toBe(VALUE);
  });

  it('masks string conversion', () => {
    expect(String(secret)).toBe('[secret]');
    expect(`${secret}`).toBe('[secret]');
    expect('key=' + secret).toBe('key=[secret]');
    expect(secret.toString()).toBe('[secret]');
    expect([secret].join(',')).toBe('[secret]');
  });

  it('masks JSON, also nested', () => {
    expect(JSON.stringify(secret)).toBe('"[secret]"');
    expect(JSON.stringify({ k: secret })).toBe('{"k":"[secret]"}');
    expect(JSON.stringify({ a: [{ b: secret }] })).toBe('{"a":[{"b":"[secret]"}]}');
    expect(JSON.stringify({ k: secret }, null, 2)).not.toContain(VALUE);
  });

  it('masks util.inspect, util.format and console-style output', () => {
    expect(util.inspect(secret)).toBe('[secret]');
    expect(util.inspect({ nested: { k: secret } }, { depth: 10, showHidden: true })).toContain('[secret]');
    for (const spec of ['%o', '%O', '%s', '%j', '%d', '%i']) {
      expectHidden(util.format(spec, secret));
      expectHidden(util.format(spec, { k: secret }));
    }
    expect(util.format('%o', secret)).toBe('[secret]');
    expectHidden(util.format(secret));
    // Without the custom hook, inspect sees no own properties: the private field is invisible.
    expectHidden(util.inspect(secret, { customInspect: false, showHidden: true }));
    expectHidden(util.inspect(new Error('failed', { cause: secret })));
  });

  it('has no enumerable or own properties to copy', () => {
    expect({ ...secret }).toEqual({});
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.entries(secret)).toEqual([]);
    expect(Object.values(secret)).toEqual([]);
    expect(Reflect.ownKeys(secret)).toEqual([]);
    expect(Object.assign({}, secret)).toEqual({});
  });

  it('loses the value in structuredClone and v8 serialisation', () => {
    const clone = structuredClone(secret) as unknown as Record<string, unknown>;
    expect(clone).toEqual({});
    expect(clone.reveal).toBeUndefined();
    expect(Secret.isSecret(clone)).toBe(false);
    expectHidden(v8.serialize(secret).toString('latin1'));
    expectHidden(v8.serialize({ k: secret }).toString('latin1'));
  });

  it('is masked by pino (no redact paths needed)', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    log.info({ secret, apiKey: secret, nested: { k: [secret] } }, 'stored key');
    log.info({ err: new Error('failed', { cause: secret }) }, 'failure');
    log.info('key %s and %o and %j', secret, secret, secret);
    expect(lines).toHaveLength(3);
    for (const line of lines) expectHidden(line);
    expect(lines[0]).toContain('"secret":"[secret]"');
  });

  it('is frozen, so nothing can be attached to leak it later', () => {
    expect(Object.isFrozen(secret)).toBe(true);
    expect(() => {
      (secret as unknown as Record<string, unknown>).toJSON = () => 'x';
    }).toThrow(TypeError);
  });

  it('refuses non-strings without echoing them', () => {
    expect(() => new Secret(12345678 as unknown as string)).toThrow(/must be a string$/);
    try {
      new Secret({ leaked: VALUE } as unknown as string);
    } catch (err) {
      expectHidden((err as Error).message);
    }
  });

  it('shows the last four characters of long values only', () => {
    expect(secret.last4()).toBe('WXYZ');
    expect(new Secret('short-key').last4()).toBe('');
    expect(new Secret('abcdefgh😀123').last4()).toBe('😀123');
  });

  it('fingerprints with sha256 and the first 16 hex characters', () => {
    expect(fingerprint('abc')).toBe('sha256:ba7816bf8f01cfea');
    expect(secret.fingerprint()).toBe(fingerprint(VALUE));
    expect(secret.fingerprint()).toMatch(/^sha256:[0-9a-f]{16}$/);
    expectHidden(secret.fingerprint());
  });

  it('compares in constant time, and only with Secrets', () => {
    expect(secret.equals(new Secret(VALUE))).toBe(true);
    expect(secret.equals(new Secret(VALUE + 'x'))).toBe(false);
    expect(secret.equals(new Secret(''))).toBe(false);
    expect(secret.equals(VALUE)).toBe(false);
    expect(secret.equals(null)).toBe(false);
    expect(secret.equals({ reveal: () => VALUE })).toBe(false);
    expect(secret.equals(structuredClone(secret))).toBe(false);
  });
});
