import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

/** AES-256-GCM with a fresh random 96-bit IV per message and the full 128-bit tag. */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function seal(key: KeyObject | Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/**
 * The plaintext, or undefined if authentication fails. Nothing is returned before `final()` has
 * checked the tag, so a failure can never hand out unauthenticated bytes. The OpenSSL error is
 * dropped on purpose: the caller throws its own, fixed-text error.
 */
export function open(key: KeyObject | Uint8Array, aad: Uint8Array, sealed: Sealed): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    const head = decipher.update(sealed.ciphertext);
    try {
      return Buffer.concat([head, decipher.final()]);
    } finally {
      head.fill(0);
    }
  } catch {
    return undefined;
  }
}

/**
 * Associated data as JSON of a fixed-order array of strings: unambiguous (quoting and escaping keep
 * `["a.b","c"]` apart from `["a","b.c"]`), and the leading purpose label separates the data-key and
 * secret domains.
 */
export function associatedData(parts: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify(parts), 'utf8');
}
