// Slack request verification with Slack's own SDK (v0 HMAC, timestamp within 5 minutes), plus a
// memory of recent signatures so a captured request replayed inside those 5 minutes is refused too.
// The signature must be exactly `v0=` and 64 lower-case hex digits before anything compares it:
// Bolt accepts trailing bytes (`v0=<hash>=x`), and each such variant would be a new replay key.
import { verifySlackRequest } from '@slack/bolt';
import { HttpError } from './http-errors';

const WINDOW_MS = 5 * 60_000;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

export function createSlackVerifier(signingSecret: string, now: () => number) {
  const seen = new Map<string, number>();
  return function verify(rawBody: string, headers: Record<string, string | string[] | undefined>): void {
    const signature = headers['x-slack-signature'];
    const timestamp = headers['x-slack-request-timestamp'];
    if (typeof signature !== 'string' || !signature) throw new HttpError(401, 'x-slack-signature: missing');
    if (!SIGNATURE.test(signature))
      throw new HttpError(401, 'x-slack-signature: must be v0= followed by 64 lower-case hex digits');
    if (typeof timestamp !== 'string' || !/^\d+$/.test(timestamp))
      throw new HttpError(401, 'x-slack-request-timestamp: missing or not a number');
    try {
      verifySlackRequest({
        signingSecret,
        body: rawBody,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
        nowMilliseconds: now(),
      });
    } catch (err) {
      throw new HttpError(
        401,
        `slack signature: ${(err as Error).message.replace(/^Failed to verify authenticity: /, '')}`,
      );
    }
    const t = now();
    // Bolt refuses only stale timestamps. One from the future would stay valid past the replay
    // memory below, so it is refused too, and a signature is remembered as long as it is valid.
    const signedAt = Number(timestamp) * 1000;
    if (signedAt > t + WINDOW_MS)
      throw new HttpError(401, 'x-slack-request-timestamp: more than 5 minutes in the future');
    for (const [sig, expires] of seen) if (expires < t) seen.delete(sig);
    if (seen.has(signature))
      throw new HttpError(401, 'slack signature: this exact request was already received (replay)');
    seen.set(signature, signedAt + WINDOW_MS);
  };
}
