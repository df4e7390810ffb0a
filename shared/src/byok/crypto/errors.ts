/**
 * Errors of the BYOK crypto layer. They are plain `Error`s with a stable `code` (not `AppError`s):
 * the HTTP mapping belongs to the key-store layer above, which decides what a caller may see.
 *
 * Rule for every message and property here: no key material, no plaintext, no ciphertext. Only
 * positions, validated version labels (`v2`, `d1`) and fixed descriptions, so an error can go to a
 * log, an audit trail or a traceback without redaction.
 */

/** `BYOK_ENCRYPTION_KEY` (or the entries given to `new Keyring`) is unusable. Lists every problem. */
export class KeyringError extends Error {
  readonly code = 'keyring_invalid' as const;
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`Invalid BYOK_ENCRYPTION_KEY:\n  - ${issues.join('\n  - ')}`);
    this.name = 'KeyringError';
    this.issues = Object.freeze([...issues]);
  }
}

/** Which stored record could not be decrypted. */
export type DecryptionRecord = 'data_key' | 'secret';

/**
 * Which part of the record was at fault. `authentication` covers everything GCM cannot tell apart
 * on purpose: wrong key, wrong associated data (record copied to another tenant/provider/key name)
 * and altered iv/tag/ciphertext.
 */
export type DecryptionField =
  | 'format' // not a string, wrong prefix, wrong number of parts, too long
  | 'version' // master key version malformed, or not in the keyring
  | 'dek_id' // data key id malformed
  | 'iv'
  | 'tag'
  | 'ciphertext'
  | 'key' // the data key handed in is not 32 bytes
  | 'binding' // tenant/provider/key name handed in is not a non-empty string
  | 'authentication'
  | 'plaintext'; // authenticated, yet not a well-formed key (only a bug could write that)

const RECORD_LABEL: Record<DecryptionRecord, string> = {
  data_key: 'wrapped data key',
  secret: 'stored secret',
};

const FIELD_DESCRIPTION: Record<DecryptionField, string> = {
  format: 'the record is malformed (expected five dot-separated parts with a known prefix)',
  version: 'the master key version is malformed or not present in BYOK_ENCRYPTION_KEY',
  dek_id: 'the data key id is malformed',
  iv: 'the IV is malformed (expected 12 bytes, base64url)',
  tag: 'the authentication tag is malformed (expected 16 bytes, base64url)',
  ciphertext: 'the ciphertext is malformed (bad base64url or out-of-range length)',
  key: 'the data key is not 32 bytes',
  binding: 'tenant, provider and key name must be non-empty strings',
  authentication:
    'authentication failed (wrong key, a record copied from another tenant, provider or key name, or altered data)',
  plaintext: 'the decrypted value is not a well-formed key',
};

/** The single error of every decryption path: never garbage, never a partial value. */
export class KeyDecryptionError extends Error {
  readonly code = 'key_decryption_failed' as const;
  readonly record: DecryptionRecord;
  readonly field: DecryptionField;
  /** Set for `field: 'version'` when the label itself was well-formed (e.g. `v1` dropped from the keyring). */
  readonly version?: string;

  constructor(record: DecryptionRecord, field: DecryptionField, version?: string) {
    const where = version === undefined ? '' : ` (${version})`;
    super(`Could not decrypt the ${RECORD_LABEL[record]}: ${FIELD_DESCRIPTION[field]}${where}`);
    this.name = 'KeyDecryptionError';
    this.record = record;
    this.field = field;
    if (version !== undefined) this.version = version;
  }
}
