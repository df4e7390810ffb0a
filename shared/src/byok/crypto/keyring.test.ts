import { randomBytes, KeyObject } from 'node:crypto';
import util from 'node:util';
import { describe, expect, it } from 'vitest';
import { KeyringError } from './errors.ts';
import { generateMasterKey, Keyring, parseKeyring } from './keyring.ts';

const K1 = generateMasterKey();
const K2 = generateMasterKey();

/** Runs `fn`, expects a KeyringError, and checks it echoes none of the given key texts. */
function keyringError(fn: () => unknown, ...keyTexts: string[]): KeyringError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KeyringError);
  const err = caught as KeyringError;
  expect(err.code).toBe('keyring_invalid');
  const rendered = [err.message, err.stack ?? '', JSON.stringify(err), util.inspect(err), ...err.issues].join('\n');
  for (const text of keyTexts) {
    if (text.length >= 8) expect(rendered).not.toContain(text.slice(0, 8));
  }
  return err;
}

describe('generateMasterKey', () => {
  it('gives base64 of 32 fresh random bytes', () => {
    expect(Buffer.from(K1, 'base64')).toHaveLength(32);
    expect(K1).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(K1).not.toBe(K2);
  });
});

describe('parseKeyring', () => {
  it('takes the first entry as current and keeps the others readable', () => {
    const ring = parseKeyring(`v2:${K2},v1:${K1}`);
    expect(ring.current).toBe('v2');
    expect(ring.versions).toEqual(['v2', 'v1']);
    expect(ring.has('v1')).toBe(true);
    expect(ring.get('v3')).toBeUndefined();
    const key = ring.get('v1');
    expect(key).toBeInstanceOf(KeyObject);
    expect(key?.symmetricKeySize).toBe(32);
    expect(key?.export().toString('base64')).toBe(K1);
  });

  it('ignores spaces around entries and accepts unpadded base64', () => {
    const ring = parseKeyring(` v10 : ${K1.replace(/=$/, '')} ,\n v9:${K2} `);
    expect(ring.versions).toEqual(['v10', 'v9']);
  });

  it('rejects an empty value', () => {
    keyringError(() => parseKeyring(''));
    keyringError(() => parseKeyring('   '));
    keyringError(() => parseKeyring(undefined));
  });

  it('lists every problem at once, in entry order, without echoing key text', () => {
    const short = randomBytes(16).toString('base64');
    const long = randomBytes(48).toString('base64');
    const text = [
      `v1:${K1}`, // 1 ok
      `v1:${K2}`, // 2 repeated version
      `v3:${K1.replace(/[A-Za-z]/, '!')}`, // 3 bad base64
      `v4:${short}`, // 4 16 bytes
      `v5:${long}`, // 5 48 bytes
      '', // 6 stray comma
      K2, // 7 no version at all (a bare key)
      `${K2}:${K1}`, // 8 key pasted as version: must not be echoed
      `V6:${generateMasterKey()}`, // 9 bad version label
      `v7:${K1}`, // 10 same key as v1
      `v8:${K1.replace(/\+/g, '-').replace(/\//g, '_')}x`, // 11 base64url / junk
    ].join(',');
    const err = keyringError(() => parseKeyring(text), K1, K2, short, long);
    const issues = err.issues;
    expect(issues.some((i) => /^entry 2 \(v1\): version v1 is repeated \(first in entry 1\)/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 3 \(v3\): the key is not valid base64/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 4 \(v4\): the key decodes to 16 bytes; expected 32/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 5 \(v5\): the key decodes to 48 bytes/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 6 is empty/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 7 is not "<version>:<base64 key>"/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 8: the version must be/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 9: the version must be/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 10 \(v7\): the key is the same as in entry 1 \(v1\)/.test(i))).toBe(true);
    expect(issues.some((i) => /^entry 11 \(v8\): the key is not valid base64/.test(i))).toBe(true);
    const order = issues.map((i) => Number(/^entry (\d+)/.exec(i)?.[1]));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(issues.some((i) => i.startsWith('entry 1 ') || i.startsWith('entry 1:'))).toBe(false);
  });

  it('rejects versions outside v0..v999999', () => {
    keyringError(() => parseKeyring(`v1234567:${K1}`), K1);
    keyringError(() => parseKeyring(`v:${K1}`), K1);
    keyringError(() => parseKeyring(`1:${K1}`), K1);
    keyringError(() => parseKeyring(`v1.2:${K1}`), K1);
  });
});

describe('Keyring', () => {
  const ring = parseKeyring(`v2:${K2},v1:${K1}`);

  it('never shows key bytes through JSON, inspect or string conversion', () => {
    const hex1 = Buffer.from(K1, 'base64').toString('hex');
    const renders = [
      JSON.stringify(ring),
      JSON.stringify({ ring }),
      util.inspect(ring, { showHidden: true, depth: 10 }),
      util.inspect(ring, { customInspect: false, showHidden: true, depth: 10 }),
      util.format('%o %O %s %j', ring, ring, ring, ring),
      String(ring),
      `${ring}`,
      JSON.stringify(ring.get('v1')),
      util.inspect(ring.get('v1'), { showHidden: true }),
      JSON.stringify(structuredClone(ring)),
    ];
    for (const r of renders) {
      expect(r).not.toContain(K1.slice(0, 12));
      expect(r).not.toContain(K2.slice(0, 12));
      expect(r).not.toContain(hex1.slice(0, 16));
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ current: 'v2', versions: ['v2', 'v1'] });
    expect(String(ring)).toBe('[keyring v2,v1]');
    expect(Object.isFrozen(ring)).toBe(true);
  });

  it('validates entries given to the constructor too', () => {
    expect(new Keyring([{ version: 'v1', key: randomBytes(32) }]).current).toBe('v1');
    expect(keyringError(() => new Keyring([])).issues).toEqual(['the keyring has no entries']);
    const key = randomBytes(32);
    const err = keyringError(() =>
      new Keyring([
        { version: 'v1', key },
        { version: 'v1', key: randomBytes(31) },
        { version: 'v2', key },
      ]),
    );
    expect(err.issues).toHaveLength(3);
  });

  it('copies the key bytes, so the caller may wipe its buffer', () => {
    const key = randomBytes(32);
    const copy = Buffer.from(key);
    const own = new Keyring([{ version: 'v1', key }]);
    key.fill(0);
    expect(own.get('v1')?.export().equals(copy)).toBe(true);
  });
});
