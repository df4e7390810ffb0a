export { Secret, INSPECT_CUSTOM } from './secret.ts';
export { fingerprint } from './fingerprint.ts';
export {
  Keyring,
  KEYRING_ENV_VAR,
  MASTER_KEY_BYTES,
  MASTER_VERSION_PATTERN,
  generateMasterKey,
  parseKeyring,
  type KeyringEntry,
} from './keyring.ts';
export {
  DEK_BYTES,
  DEK_ID_PATTERN,
  MAX_SECRET_BYTES,
  SECRET_PREFIX,
  WRAPPED_DEK_PREFIX,
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
export { KeyDecryptionError, KeyringError, type DecryptionField, type DecryptionRecord } from './errors.ts';
