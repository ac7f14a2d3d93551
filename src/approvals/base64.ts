// Base64 for raw key and signature bytes. Hand-written on purpose: workflow code has no Buffer and
// no guarantee of atob/btoa, and this module must behave identically in the sandbox and in Node.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX: Record<string, number> = Object.fromEntries([...ALPHABET].map((c, i) => [c, i]));

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : '=';
  }
  return out;
}

/**
 * Strict, canonical standard base64 (padding required); undefined when the text is not base64.
 * The bits a padded final character carries beyond the data must be zero: otherwise 4 (one `=`)
 * or 16 (`==`) texts decode to the same bytes, and a signature's replay key would not be unique.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad && INDEX[text[text.length - pad - 1]] & (pad === 2 ? 15 : 3)) return undefined;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n =
      (INDEX[text[i]] << 18) |
      (INDEX[text[i + 1]] << 12) |
      ((INDEX[text[i + 2]] ?? 0) << 6) |
      (INDEX[text[i + 3]] ?? 0);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
