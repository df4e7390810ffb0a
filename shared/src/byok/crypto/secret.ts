import { createHash, timingSafeEqual } from 'node:crypto';
import { fingerprint } from './fingerprint.ts';

/** Node's hook for `util.inspect`, `console.log`, `util.format('%o')` (and so most loggers' pretty printers). */
export const INSPECT_CUSTOM = Symbol.for('nodejs.util.inspect.custom');

const MASK = '[secret]';

/** `last4()` shows nothing for values shorter than this: four characters of a short value is most of it. */
const LAST4_MIN_LENGTH = 12;

/**
 * A decrypted provider key on its way through the code. Every accidental exit shows `[secret]`:
 * String(), template literals, JSON.stringify (also nested), util.inspect/console.log, util.format,
 * pino. The value lives in a true private field, so spreading, Object.keys/entries, structuredClone
 * and v8.serialize see no properties at all (a clone is an empty object without `reveal`).
 * `reveal()` is the only way out: grep for it to audit where keys are used.
 *
 * A JS string cannot be wiped from memory; this class guards against leaks through serialisation,
 * not against someone who can read the process heap.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    // The message must not echo the argument: it may be the key itself in the wrong type.
    if (typeof value !== 'string') throw new TypeError('Secret value must be a string');
    this.#value = value;
    Object.freeze(this); // nobody can attach a toJSON or a copy of the value later
  }

  /** The plaintext. Call it at the last moment, at the point of use (the provider request). */
  reveal(): string {
    return this.#value;
  }

  /** The last four characters for display ("…wxyz"), or `''` if the value is under 12 characters long. */
  last4(): string {
    const chars = Array.from(this.#value); // by code point, never splitting a surrogate pair
    return chars.length < LAST4_MIN_LENGTH ? '' : chars.slice(-4).join('');
  }

  /** `sha256:<16 hex>`, stable across rotations; see `fingerprint`. */
  fingerprint(): string {
    return fingerprint(this.#value);
  }

  /**
   * Constant-time comparison. Both sides are hashed first so `timingSafeEqual` gets equal-length
   * inputs and the time taken does not depend on where the values first differ (only, slightly, on
   * their lengths). False for anything that is not a Secret.
   */
  equals(other: unknown): boolean {
    if (typeof other !== 'object' || other === null || !(#value in other)) return false;
    const a = createHash('sha256').update(this.#value, 'utf8').digest();
    const b = createHash('sha256').update((other as Secret).#value, 'utf8').digest();
    return timingSafeEqual(a, b);
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [Symbol.toPrimitive](): string {
    return MASK;
  }

  [INSPECT_CUSTOM](): string {
    return MASK;
  }

  /** True for real Secrets only (not for structured clones or look-alikes). */
  static isSecret(value: unknown): value is Secret {
    return typeof value === 'object' && value !== null && #value in value;
  }
}
