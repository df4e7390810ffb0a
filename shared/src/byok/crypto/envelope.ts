import { randomBytes } from 'node:crypto';
import { associatedData, IV_BYTES, KEY_BYTES, open, seal, TAG_BYTES, type Sealed } from './aead.ts';
import { decodeBase64url, encodeBase64url } from './encoding.ts';
import { KeyDecryptionError, type DecryptionRecord } from './errors.ts';
import { MASTER_VERSION_PATTERN, type Keyring } from './keyring.ts';
import { Secret } from './secret.ts';

export { fingerprint } from './fingerprint.ts';

/**
 * Envelope encryption of BYOK provider keys:
 *
 *   master key (env, versioned) --wraps--> per-tenant data key (DEK) --encrypts--> provider keys
 *
 * Rotating the master key re-wraps only the small DEKs (`rewrapDataKey`); the stored secrets do not
 * change. Every ciphertext is bound by GCM associated data to where it belongs, so a record copied to
 * another tenant (DEK) or to another tenant/provider/key name (secret) fails authentication.
 */

/** Prefix of wrapped data keys: `dek1.<masterVersion>.<iv>.<tag>.<ciphertext>` (base64url). */
export const WRAPPED_DEK_PREFIX = 'dek1';
/** Prefix of encrypted secrets: `sk1.<dekId>.<iv>.<tag>.<ciphertext>` (base64url). */
export const SECRET_PREFIX = 'sk1';
/** Data key ids name a tenant's DEK generation: `d1`, `d2`, … (no dots). */
export const DEK_ID_PATTERN = /^d[0-9]{1,6}$/;
export const DEK_BYTES = KEY_BYTES;
/** Upper bound on a stored key (room for a cloud service-account JSON, far below abuse sizes). */
export const MAX_SECRET_BYTES = 64 * 1024;

const DEK_PURPOSE = 'folio/byok/dek';
const SECRET_PURPOSE = 'folio/byok/secret';

/** Where an encrypted secret belongs; all three are bound into the ciphertext. */
export interface SecretBinding {
  tenant: string;
  provider: string;
  keyName: string;
}

/** A fresh random 32-byte data key for a tenant. */
export function generateDataKey(): Buffer {
  return randomBytes(DEK_BYTES);
}

/** Wraps a tenant's DEK under the keyring's current master key. */
export function wrapDataKey(keyring: Keyring, tenant: string, dek: Uint8Array): string {
  requireName('tenant', tenant);
  if (!(dek instanceof Uint8Array) || dek.byteLength !== DEK_BYTES) throw new TypeError('The data key must be 32 bytes');
  const version = keyring.current;
  const sealed = seal(keyring.get(version)!, dekAad(tenant, version), dek);
  return format(WRAPPED_DEK_PREFIX, version, sealed);
}

/** Unwraps with whichever master version the record names; throws `KeyDecryptionError` on any failure. */
export function unwrapDataKey(keyring: Keyring, tenant: string, wrapped: string): Buffer {
  const { label: version, sealed } = parse('data_key', WRAPPED_DEK_PREFIX, MASTER_VERSION_PATTERN, 'version', wrapped);
  if (sealed.ciphertext.byteLength !== DEK_BYTES) throw new KeyDecryptionError('data_key', 'ciphertext');
  if (!isName(tenant)) throw new KeyDecryptionError('data_key', 'binding');
  const masterKey = keyring.get(version);
  if (masterKey === undefined) throw new KeyDecryptionError('data_key', 'version', version);
  const dek = open(masterKey, dekAad(tenant, version), sealed);
  if (dek === undefined) throw new KeyDecryptionError('data_key', 'authentication');
  return dek;
}

/** The master version a wrapped DEK was made with; `KeyDecryptionError` if malformed. */
export function wrappedDataKeyVersion(wrapped: string): string {
  return parse('data_key', WRAPPED_DEK_PREFIX, MASTER_VERSION_PATTERN, 'version', wrapped).label;
}

/** True when the DEK is not wrapped under the current master key (including versions the keyring lacks). */
export function needsRewrap(keyring: Keyring, wrapped: string): boolean {
  return wrappedDataKeyVersion(wrapped) !== keyring.current;
}

/**
 * Master-key rotation step: unwrap under the old version, wrap under the current one. The DEK, and
 * so every secret encrypted with it, stays the same. Always re-wraps (fresh IV) and so also verifies
 * the record; callers skip records for which `needsRewrap` is false.
 */
export function rewrapDataKey(keyring: Keyring, tenant: string, wrapped: string): string {
  const dek = unwrapDataKey(keyring, tenant, wrapped);
  try {
    return wrapDataKey(keyring, tenant, dek);
  } finally {
    dek.fill(0);
  }
}

/** Encrypts a provider key with a tenant DEK; `dekId` is recorded so the store knows which DEK opens it. */
export function encryptSecret(dek: Uint8Array, dekId: string, ad: SecretBinding, plaintext: Secret): string {
  if (!(dek instanceof Uint8Array) || dek.byteLength !== DEK_BYTES) throw new TypeError('The data key must be 32 bytes');
  if (typeof dekId !== 'string' || !DEK_ID_PATTERN.test(dekId)) throw new TypeError('The data key id must look like d1, d2, …');
  requireName('tenant', ad?.tenant);
  requireName('provider', ad?.provider);
  requireName('keyName', ad?.keyName);
  if (!Secret.isSecret(plaintext)) throw new TypeError('The plaintext must be a Secret');
  const value = plaintext.reveal();
  // Lone surrogates would be silently replaced by U+FFFD on encoding: refuse rather than store a different key.
  if (value === '' || !value.isWellFormed()) throw new TypeError('The secret must be a non-empty, well-formed string');
  const bytes = Buffer.from(value, 'utf8');
  try {
    if (bytes.byteLength > MAX_SECRET_BYTES) throw new TypeError(`The secret exceeds ${MAX_SECRET_BYTES} bytes`);
    return format(SECRET_PREFIX, dekId, seal(dek, secretAad(dekId, ad), bytes));
  } finally {
    bytes.fill(0);
  }
}

/** Decrypts a provider key; throws `KeyDecryptionError` on any failure (never returns garbage). */
export function decryptSecret(dek: Uint8Array, ad: SecretBinding, ciphertext: string): Secret {
  const { label: dekId, sealed } = parse('secret', SECRET_PREFIX, DEK_ID_PATTERN, 'dek_id', ciphertext);
  const size = sealed.ciphertext.byteLength;
  if (size === 0 || size > MAX_SECRET_BYTES) throw new KeyDecryptionError('secret', 'ciphertext');
  if (!(dek instanceof Uint8Array) || dek.byteLength !== DEK_BYTES) throw new KeyDecryptionError('secret', 'key');
  if (!isName(ad?.tenant) || !isName(ad?.provider) || !isName(ad?.keyName)) throw new KeyDecryptionError('secret', 'binding');
  const bytes = open(dek, secretAad(dekId, ad), sealed);
  if (bytes === undefined) throw new KeyDecryptionError('secret', 'authentication');
  try {
    return new Secret(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new KeyDecryptionError('secret', 'plaintext');
  } finally {
    bytes.fill(0);
  }
}

/** The data key id an encrypted secret names (which wrapped DEK to unwrap); `KeyDecryptionError` if malformed. */
export function secretDekId(ciphertext: string): string {
  return parse('secret', SECRET_PREFIX, DEK_ID_PATTERN, 'dek_id', ciphertext).label;
}

// The master version is in the AD as well as in the record: editing the label to another version the
// keyring holds fails authentication instead of trying a key the record was not made with.
function dekAad(tenant: string, version: string): Buffer {
  return associatedData([DEK_PURPOSE, WRAPPED_DEK_PREFIX, tenant, version]);
}

function secretAad(dekId: string, ad: SecretBinding): Buffer {
  return associatedData([SECRET_PURPOSE, SECRET_PREFIX, dekId, ad.tenant, ad.provider, ad.keyName]);
}

function format(prefix: string, label: string, s: Sealed): string {
  return [prefix, label, encodeBase64url(s.iv), encodeBase64url(s.tag), encodeBase64url(s.ciphertext)].join('.');
}

// Base64url of MAX_SECRET_BYTES plus the other parts, with slack: longer input is rejected before any work.
const MAX_RECORD_CHARS = Math.ceil((MAX_SECRET_BYTES * 4) / 3) + 128;

function parse(
  record: DecryptionRecord,
  prefix: string,
  labelPattern: RegExp,
  labelField: 'version' | 'dek_id',
  text: string,
): { label: string; sealed: Sealed } {
  if (typeof text !== 'string' || text.length > MAX_RECORD_CHARS) throw new KeyDecryptionError(record, 'format');
  const parts = text.split('.');
  if (parts.length !== 5 || parts[0] !== prefix) throw new KeyDecryptionError(record, 'format');
  const [, label, iv64, tag64, ct64] = parts as [string, string, string, string, string];
  if (!labelPattern.test(label)) throw new KeyDecryptionError(record, labelField);
  const iv = decodeBase64url(iv64);
  if (iv === undefined || iv.byteLength !== IV_BYTES) throw new KeyDecryptionError(record, 'iv');
  const tag = decodeBase64url(tag64);
  if (tag === undefined || tag.byteLength !== TAG_BYTES) throw new KeyDecryptionError(record, 'tag');
  const ciphertext = decodeBase64url(ct64);
  if (ciphertext === undefined) throw new KeyDecryptionError(record, 'ciphertext');
  return { label, sealed: { iv, tag, ciphertext } };
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function requireName(what: string, value: unknown): void {
  if (!isName(value)) throw new TypeError(`${what} must be a non-empty string`);
}
