import { createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeBase64 } from './encoding.ts';
import { KeyringError } from './errors.ts';
import { INSPECT_CUSTOM } from './secret.ts';

/** The environment variable holding the master keyring. */
export const KEYRING_ENV_VAR = 'BYOK_ENCRYPTION_KEY';

/** Master key version labels: `v1` … `v999999`. No dots, so they can sit inside a wrapped-key string. */
export const MASTER_VERSION_PATTERN = /^v[0-9]{1,6}$/;

export const MASTER_KEY_BYTES = 32;

export interface KeyringEntry {
  version: string;
  key: Uint8Array;
}

/**
 * The master keys, current first. Raw key bytes never leave it: `get` hands out node:crypto
 * `KeyObject`s (which print as `SecretKeyObject {}` and JSON as `{}`), and toJSON/inspect/toString
 * show the version labels only (they are not secret and say which keys a deployment holds).
 */
export class Keyring {
  /** Version used for every new wrap. */
  readonly current: string;
  /** All versions, current first, then the old ones kept readable during a rotation. */
  readonly versions: readonly string[];
  readonly #keys: ReadonlyMap<string, KeyObject>;

  /** Throws `KeyringError` listing every problem (bad or repeated versions, wrong lengths, reused keys). */
  constructor(entries: readonly KeyringEntry[]) {
    const issues =
      entries.length === 0
        ? ['the keyring has no entries']
        : entryIssues(entries.map((e, i) => ({ position: i + 1, version: e.version, key: e.key })));
    if (issues.length > 0) throw new KeyringError(issues);
    // KeyObjects copy the bytes, so the caller's buffers can be wiped afterwards.
    this.#keys = new Map(entries.map((e) => [e.version, createSecretKey(Buffer.from(e.key))]));
    this.versions = Object.freeze(entries.map((e) => e.version));
    this.current = this.versions[0] as string;
    Object.freeze(this);
  }

  has(version: string): boolean {
    return this.#keys.has(version);
  }

  /** The master key of a version, or undefined if the keyring does not hold it. */
  get(version: string): KeyObject | undefined {
    return this.#keys.get(version);
  }

  toJSON(): { current: string; versions: readonly string[] } {
    return { current: this.current, versions: this.versions };
  }

  toString(): string {
    return `[keyring ${this.versions.join(',')}]`;
  }

  [INSPECT_CUSTOM](): string {
    return this.toString();
  }
}

/** Base64 of 32 random bytes: a new master key for `BYOK_ENCRYPTION_KEY`. */
export function generateMasterKey(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('base64');
}

/**
 * Parses `v2:BASE64,v1:BASE64` (spaces around entries are ignored). Lists every problem at once,
 * naming entries by position and, when well-formed, version: never echoing anything that could be
 * key material (a malformed version may well be a key pasted in the wrong place).
 */
export function parseKeyring(text: string | undefined): Keyring {
  if (text === undefined || text.trim() === '') {
    throw new KeyringError([
      `${KEYRING_ENV_VAR} is empty or unset; expected "v1:<base64 of 32 bytes>" (generate one with generateMasterKey())`,
    ]);
  }
  const issues: string[] = [];
  const candidates: Candidate[] = [];
  text.split(',').forEach((raw, i) => {
    const position = i + 1;
    const entry = raw.trim();
    if (entry === '') {
      issues.push(`entry ${position} is empty (stray comma?)`);
      return;
    }
    const colon = entry.indexOf(':');
    if (colon < 0) {
      issues.push(`entry ${position} is not "<version>:<base64 key>"`);
      return;
    }
    const version = entry.slice(0, colon).trim();
    candidates.push({ position, version, key: decodeBase64(entry.slice(colon + 1).trim()) });
  });
  // Merge per-entry problems back into entry order.
  issues.push(...entryIssues(candidates));
  issues.sort((a, b) => entryNumber(a) - entryNumber(b));
  if (issues.length > 0) throw new KeyringError(issues);
  return new Keyring(candidates.map((c) => ({ version: c.version, key: c.key as Buffer })));
}


interface Candidate {
  position: number;
  version: string;
  /** Undefined when it is not valid base64. */
  key: Uint8Array | undefined;
}

function entryNumber(issue: string): number {
  return Number(/^entry (\d+)/.exec(issue)?.[1] ?? 0);
}

function label(position: number, version: string): string {
  return MASTER_VERSION_PATTERN.test(version) ? `entry ${position} (${version})` : `entry ${position}`;
}

/** Checks shared by `parseKeyring` and `new Keyring`: versions, duplicates, lengths, reused keys. */
function entryIssues(entries: readonly Candidate[]): string[] {
  const issues: string[] = [];
  const firstAt = new Map<string, number>();
  const usable: Array<{ at: string; key: Uint8Array }> = [];
  for (const { position, version, key } of entries) {
    const at = label(position, version);
    if (typeof version !== 'string' || !MASTER_VERSION_PATTERN.test(version)) {
      issues.push(`${at}: the version must be "v" followed by 1 to 6 digits (e.g. v1)`);
    } else if (firstAt.has(version)) {
      issues.push(`${at}: version ${version} is repeated (first in entry ${firstAt.get(version)})`);
    } else {
      firstAt.set(version, position);
    }
    if (key === undefined) {
      issues.push(`${at}: the key is not valid base64`);
      continue;
    }
    if (!(key instanceof Uint8Array) || key.byteLength !== MASTER_KEY_BYTES) {
      const length = key instanceof Uint8Array ? key.byteLength : 0;
      issues.push(`${at}: the key decodes to ${length} bytes; expected ${MASTER_KEY_BYTES}`);
      continue;
    }
    // A "rotation" that reuses a key rotates nothing; most likely a copy-paste slip.
    const twin = usable.find((u) => timingSafeEqual(u.key, key));
    if (twin !== undefined) issues.push(`${at}: the key is the same as in ${twin.at}`);
    usable.push({ at, key });
  }
  return issues;
}
