import { createHash } from 'node:crypto';

/**
 * A short, stable identifier of a key for UIs and audit logs: `sha256:` + the first 16 hex chars
 * (64 bits) of SHA-256 of the key. It depends on the key alone, so it survives master-key and data-key
 * rotation and lets an operator see "the same key was stored twice" without decrypting anything.
 *
 * Unkeyed on purpose (stable across deployments). That is only safe because provider API keys are
 * high-entropy: for a guessable value this would be a dictionary-attack oracle.
 */
export function fingerprint(plaintext: string): string {
  return `sha256:${createHash('sha256').update(plaintext, 'utf8').digest('hex').slice(0, 16)}`;
}
