import util from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  decryptSecret,
  encryptSecret,
  generateDataKey,
  needsRewrap,
  rewrapDataKey,
  secretDekId,
  unwrapDataKey,
  wrapDataKey,
  wrappedDataKeyVersion,
  type SecretBinding,
} from './envelope.ts';
import { KeyDecryptionError, type DecryptionField } from './errors.ts';
import { generateMasterKey, parseKeyring } from './keyring.ts';
import { Secret } from './secret.ts';

const M1 = generateMasterKey();
const M2 = generateMasterKey();
const ringV1 = parseKeyring(`v1:${M1}`);
const ringV2V1 = parseKeyring(`v2:${M2},v1:${M1}`);
const ringV2 = parseKeyring(`v2:${M2}`);

const PLAINTEXT = 'sk-proj-Zr7Qm2xN8vLk4Pw9Tb6Hc3Jd5Fg1Ys0Ua';
const AD: SecretBinding = { tenant: 'acme', provider: 'openai', keyName: 'default' };

/** Every string a failure must not echo: plaintext, master keys, DEK, and each part of the records. */
const forbidden: string[] = [PLAINTEXT, M1.slice(0, 16), M2.slice(0, 16)];

function forbid(record: string): string {
  for (const part of record.split('.').slice(2)) if (part.length >= 8) forbidden.push(part);
  forbidden.push(record);
  return record;
}

/** Expects a KeyDecryptionError for `field`, whose every rendering is free of secrets and ciphertext. */
function expectDecryptionError(fn: () => unknown, field: DecryptionField): KeyDecryptionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KeyDecryptionError);
  const err = caught as KeyDecryptionError;
  expect(err.code).toBe('key_decryption_failed');
  expect(err.field).toBe(field);
  expect(err.cause).toBeUndefined();
  const rendered = [err.message, err.stack ?? '', JSON.stringify(err), util.inspect(err, { showHidden: true })].join('\n');
  for (const text of forbidden) expect(rendered).not.toContain(text);
  return err;
}

/** Replaces part `index` of a dot-separated record. */
function withPart(record: string, index: number, value: string): string {
  const parts = record.split('.');
  parts[index] = value;
  return parts.join('.');
}

/** Flips one bit of byte `byte` of base64url part `index`, keeping the encoding canonical. */
function flipBit(record: string, index: number, byte: number): string {
  const bytes = Buffer.from(record.split('.')[index] as string, 'base64url');
  bytes[byte] = (bytes[byte] as number) ^ 0x01;
  return withPart(record, index, bytes.toString('base64url'));
}

const dek = generateDataKey();
forbidden.push(dek.toString('base64url'), dek.toString('base64'), dek.toString('hex'));
const wrapped = forbid(wrapDataKey(ringV1, 'acme', dek));
const ciphertext = forbid(encryptSecret(dek, 'd1', AD, new Secret(PLAINTEXT)));

describe('data key wrapping', () => {
  it('round-trips and is self-describing', () => {
    expect(wrapped).toMatch(/^dek1\.v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(unwrapDataKey(ringV1, 'acme', wrapped).equals(dek)).toBe(true);
    expect(wrappedDataKeyVersion(wrapped)).toBe('v1');
    expect(generateDataKey()).toHaveLength(32);
    expect(generateDataKey().equals(generateDataKey())).toBe(false);
  });

  it('uses a fresh IV every time', () => {
    const again = wrapDataKey(ringV1, 'acme', dek);
    expect(again).not.toBe(wrapped);
    expect(again.split('.')[2]).not.toBe(wrapped.split('.')[2]);
  });

  it('is bound to its tenant', () => {
    expectDecryptionError(() => unwrapDataKey(ringV1, 'globex', wrapped), 'authentication');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme ', wrapped), 'authentication');
    expectDecryptionError(() => unwrapDataKey(ringV1, '', wrapped), 'binding');
  });

  it('detects tampering with every part', () => {
    for (let i = 0; i < 12; i++) expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', flipBit(wrapped, 2, i)), 'authentication');
    for (let i = 0; i < 16; i++) expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', flipBit(wrapped, 3, i)), 'authentication');
    for (let i = 0; i < 32; i++) expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', flipBit(wrapped, 4, i)), 'authentication');
    // The version is in the associated data: relabelling to another key the ring holds fails too.
    const relabelled = wrapDataKey(ringV2V1, 'acme', dek).replace('dek1.v2.', 'dek1.v1.');
    expectDecryptionError(() => unwrapDataKey(ringV2V1, 'acme', relabelled), 'authentication');
    const unknown = expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 1, 'v9')), 'version');
    expect(unknown.version).toBe('v9');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 1, 'V1')), 'version');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 0, 'dek2')), 'format');
  });

  it('rejects malformed records by field', () => {
    const parts = wrapped.split('.');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', ''), 'format');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', 42 as unknown as string), 'format');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', parts.slice(0, 4).join('.')), 'format');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', `${wrapped}.x`), 'format');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 2, (parts[2] as string).slice(1))), 'iv');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 2, `${parts[2]}=`)), 'iv');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 3, (parts[3] as string).slice(0, -2))), 'tag');
    // Non-canonical spelling of the same bytes (tag's last char carries 4 unused bits) is refused.
    // The canonical last char has its 4 low bits zero; setting one gives the same bytes, spelt differently.
    const tag = parts[3] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = tag.slice(0, -1) + alphabet[alphabet.indexOf(tag.slice(-1)) + 1];
    expect(Buffer.from(sibling, 'base64url').equals(Buffer.from(tag, 'base64url'))).toBe(true);
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 3, sibling)), 'tag');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 4, (parts[4] as string).slice(0, 40))), 'ciphertext');
    expectDecryptionError(() => unwrapDataKey(ringV1, 'acme', withPart(wrapped, 4, `${parts[4]}+`)), 'ciphertext');
  });
});

describe('master key rotation', () => {
  it('keeps v1 DEKs readable under v2,v1 and rewraps them to v2 without touching secrets', () => {
    expect(needsRewrap(ringV1, wrapped)).toBe(false);
    expect(needsRewrap(ringV2V1, wrapped)).toBe(true);
    expect(unwrapDataKey(ringV2V1, 'acme', wrapped).equals(dek)).toBe(true);

    const rewrapped = forbid(rewrapDataKey(ringV2V1, 'acme', wrapped));
    expect(wrappedDataKeyVersion(rewrapped)).toBe('v2');
    expect(needsRewrap(ringV2V1, rewrapped)).toBe(false);

    // v1 can now be dropped: the rewrapped DEK still opens the secret stored before rotation.
    const sameDek = unwrapDataKey(ringV2, 'acme', rewrapped);
    expect(decryptSecret(sameDek, AD, ciphertext).reveal()).toBe(PLAINTEXT);
  });

  it('cannot unwrap a v1 DEK once v1 is dropped', () => {
    expect(needsRewrap(ringV2, wrapped)).toBe(true);
    expect(expectDecryptionError(() => unwrapDataKey(ringV2, 'acme', wrapped), 'version').version).toBe('v1');
    expectDecryptionError(() => rewrapDataKey(ringV2, 'acme', wrapped), 'version');
  });

  it('does not rewrap to another tenant, and rejects malformed input to needsRewrap', () => {
    expectDecryptionError(() => rewrapDataKey(ringV2V1, 'globex', wrapped), 'authentication');
    expectDecryptionError(() => needsRewrap(ringV2V1, 'garbage'), 'format');
  });

  it('does not open a DEK with another master key of the same label', () => {
    const impostor = parseKeyring(`v1:${M2}`);
    expectDecryptionError(() => unwrapDataKey(impostor, 'acme', wrapped), 'authentication');
  });
});

describe('secret encryption', () => {
  it('round-trips into a Secret and names its data key', () => {
    expect(ciphertext).toMatch(/^sk1\.d1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(ciphertext).not.toContain(PLAINTEXT);
    expect(secretDekId(ciphertext)).toBe('d1');
    const out = decryptSecret(dek, AD, ciphertext);
    expect(out).toBeInstanceOf(Secret);
    expect(out.reveal()).toBe(PLAINTEXT);
    expect(out.fingerprint()).toBe(new Secret(PLAINTEXT).fingerprint());
  });

  it('handles non-ASCII and large values and uses a fresh IV each time', () => {
    const json = JSON.stringify({ type: 'service_account', private_key: 'x'.repeat(3000), note: 'clé 🔑' });
    const ct = encryptSecret(dek, 'd7', AD, new Secret(json));
    expect(decryptSecret(dek, AD, ct).reveal()).toBe(json);
    expect(encryptSecret(dek, 'd1', AD, new Secret(PLAINTEXT))).not.toBe(ciphertext);
  });

  it('is bound to tenant, provider, key name and data key id', () => {
    expectDecryptionError(() => decryptSecret(dek, { ...AD, tenant: 'globex' }, ciphertext), 'authentication');
    expectDecryptionError(() => decryptSecret(dek, { ...AD, provider: 'anthropic' }, ciphertext), 'authentication');
    expectDecryptionError(() => decryptSecret(dek, { ...AD, keyName: 'backup' }, ciphertext), 'authentication');
    // An unambiguous encoding: moving a character between fields changes the associated data.
    const a = encryptSecret(dek, 'd1', { tenant: 'ab', provider: 'c', keyName: 'k' }, new Secret(PLAINTEXT));
    expectDecryptionError(() => decryptSecret(dek, { tenant: 'a', provider: 'bc', keyName: 'k' }, a), 'authentication');
    const dotted = encryptSecret(dek, 'd1', { tenant: 'a.b', provider: 'c', keyName: 'k' }, new Secret(PLAINTEXT));
    expectDecryptionError(() => decryptSecret(dek, { tenant: 'a', provider: 'b.c', keyName: 'k' }, dotted), 'authentication');
    expectDecryptionError(() => decryptSecret(dek, { ...AD, keyName: '' }, ciphertext), 'binding');
  });

  it("fails with another tenant's data key", () => {
    expectDecryptionError(() => decryptSecret(generateDataKey(), AD, ciphertext), 'authentication');
    expectDecryptionError(() => decryptSecret(dek.subarray(0, 16), AD, ciphertext), 'key');
  });

  it('detects tampering with every part', () => {
    const size = Buffer.from(ciphertext.split('.')[4] as string, 'base64url').length;
    for (let i = 0; i < 12; i++) expectDecryptionError(() => decryptSecret(dek, AD, flipBit(ciphertext, 2, i)), 'authentication');
    for (let i = 0; i < 16; i++) expectDecryptionError(() => decryptSecret(dek, AD, flipBit(ciphertext, 3, i)), 'authentication');
    for (let i = 0; i < size; i++) expectDecryptionError(() => decryptSecret(dek, AD, flipBit(ciphertext, 4, i)), 'authentication');
    // The DEK id is bound too: pointing the record at another generation fails even with the same key.
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 1, 'd2')), 'authentication');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 1, 'x1')), 'dek_id');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 0, 'sk2')), 'format');
    // Truncated ciphertext (drop a byte) and an extra byte both fail.
    const ct = Buffer.from(ciphertext.split('.')[4] as string, 'base64url');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 4, ct.subarray(1).toString('base64url'))), 'authentication');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 4, Buffer.concat([ct, Buffer.of(0)]).toString('base64url'))), 'authentication');
    // Swapping iv and tag, or using a wrapped DEK as a secret record.
    const parts = ciphertext.split('.');
    expectDecryptionError(() => decryptSecret(dek, AD, [parts[0], parts[1], parts[3], parts[2], parts[4]].join('.')), 'iv');
    expectDecryptionError(() => decryptSecret(dek, AD, wrapped), 'format');
  });

  it('rejects malformed records by field', () => {
    expectDecryptionError(() => decryptSecret(dek, AD, 'sk1.d1...'), 'iv');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 4, '')), 'ciphertext');
    expectDecryptionError(() => decryptSecret(dek, AD, withPart(ciphertext, 4, 'a'.repeat(100_000))), 'format');
    expectDecryptionError(() => decryptSecret(dek, AD, null as unknown as string), 'format');
    expectDecryptionError(() => secretDekId('sk1.D1.a.b.c'), 'dek_id');
  });

  it('refuses bad input at encryption time without echoing it', () => {
    const secret = new Secret(PLAINTEXT);
    expect(() => encryptSecret(dek, 'key-1', AD, secret)).toThrow(TypeError);
    expect(() => encryptSecret(dek, 'd1', { ...AD, tenant: '' }, secret)).toThrow(TypeError);
    expect(() => encryptSecret(dek.subarray(1), 'd1', AD, secret)).toThrow(TypeError);
    expect(() => encryptSecret(dek, 'd1', AD, PLAINTEXT as unknown as Secret)).toThrow(TypeError);
    expect(() => encryptSecret(dek, 'd1', AD, new Secret(''))).toThrow(TypeError);
    expect(() => encryptSecret(dek, 'd1', AD, new Secret('ab\ud800cd'))).toThrow(TypeError);
    expect(() => encryptSecret(dek, 'd1', AD, new Secret('x'.repeat(64 * 1024 + 1)))).toThrow(TypeError);
    expect(() => wrapDataKey(ringV1, 'acme', dek.subarray(1))).toThrow(TypeError);
    try {
      encryptSecret(dek, 'd1', AD, PLAINTEXT as unknown as Secret);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(PLAINTEXT);
    }
  });
});
