/**
 * Strict base64 decoders. Node's own decoder skips invalid characters and ignores the unused low
 * bits of the last character, so several strings decode to the same bytes. Accepting only the
 * canonical spelling means every edit of a stored record is rejected (never silently accepted),
 * and a typo in the key variable is an error instead of a different key.
 */

/** Canonical unpadded base64url, or undefined. */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Canonical standard base64 (`+/`), padding optional (`openssl rand -base64 32` pads), or undefined. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64');
  return text === canonical || text === canonical.replace(/=+$/, '') ? bytes : undefined;
}
