// The codec server: the Web UI's and CLI's way to read encrypted histories, only for whoever holds
// the token, only from the configured browser origins.
import { afterAll, describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadCodecConfig } from '../../../src/codec/codec-keys';
import { loadCodecServerConfig } from '../../../src/codec/codec-server-config';
import { createCodecServer } from '../../../src/codec/codec-server-app';
import { createEncryptionCodec } from '../../../src/codec/encryption-codec';
import { payloadsToJson } from '../../../src/codec/payload-json';

const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const TOKEN = 'codec-token-0123456789abcdef';
const UI = 'http://localhost:8233';
const keys = loadCodecConfig({ AIRLOCK_CODEC_KEYS: KEYS }).keys!;
const app = createCodecServer({ keys, origins: [UI], token: TOKEN });
afterAll(() => app.close());

const SECRET = { value: 'hunter2-distinctive' };
async function encryptedBody() {
  return payloadsToJson(await createEncryptionCodec(keys).encode([defaultPayloadConverter.toPayload(SECRET)]));
}
const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: { 'content-type': 'application/json', ...headers },
  });
const auth = { authorization: `Bearer ${TOKEN}` };

describe('codec server', () => {
  test('/decode returns the clear payload to an authorized request from the UI origin', async () => {
    const body = await encryptedBody();
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const r = await post('/decode', body, { ...auth, origin: UI, 'x-namespace': 'default' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe(UI);
    const [p] = r.json<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>().payloads;
    expect(Buffer.from(p.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(p.data, 'base64').toString())).toEqual(SECRET);
  });

  test('/encode then /decode round-trips', async () => {
    const clear = payloadsToJson([defaultPayloadConverter.toPayload(SECRET)]);
    const enc = await post('/encode', clear, auth);
    expect(enc.statusCode).toBe(200);
    expect(enc.body).not.toContain(Buffer.from(JSON.stringify(SECRET)).toString('base64'));
    const dec = await post('/decode', enc.json(), auth);
    expect(dec.json()).toEqual(clear);
  });

  test('401 without the token, or with a wrong one', async () => {
    const body = await encryptedBody();
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
    ]) {
      const r = await post('/decode', body, headers);
      expect(r.statusCode).toBe(401);
      expect(r.body).not.toContain('hunter2');
    }
  });

  test('a browser origin not configured is refused; a preflight from the UI is answered', async () => {
    const r = await post('/decode', await encryptedBody(), { ...auth, origin: 'https://evil.example' });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toEqual({ error: 'origin: https://evil.example is not in AIRLOCK_CODEC_SERVER_ORIGINS' });
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: { origin: UI, 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-headers']).toMatch(/authorization/);
  });

  test('bad bodies and tampered payloads are 400 with the field and the reason', async () => {
    expect((await post('/decode', { payloads: [{ data: '***' }] }, auth)).json()).toEqual({
      error: 'body.payloads.0.data: must be base64',
    });
    expect((await post('/decode', {}, auth)).json().error).toMatch(/^body\.payloads: /);
    const body = await encryptedBody();
    body.payloads[0].data = Buffer.from(randomBytes(40)).toString('base64');
    const r = await post('/decode', body, auth);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatch(/key id "k1" failed authentication/);
  });
});

describe('codec server configuration', () => {
  test('defaults: loopback, port 8888, the dev server UI origins, no token', () => {
    const c = loadCodecServerConfig({ AIRLOCK_CODEC_KEYS: KEYS });
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8888, origins: [UI, 'http://127.0.0.1:8233'] });
    expect(c.token).toBeUndefined();
  });
  test.each([
    [{}, /^codec server: AIRLOCK_CODEC_KEYS: no key configured/],
    [
      { AIRLOCK_CODEC_KEYS: KEYS, AIRLOCK_CODEC_SERVER_TOKEN: 'short' },
      /AIRLOCK_CODEC_SERVER_TOKEN: must be at least 24/,
    ],
    [{ AIRLOCK_CODEC_KEYS: KEYS, AIRLOCK_CODEC_SERVER_ORIGINS: 'localhost:8233' }, /AIRLOCK_CODEC_SERVER_ORIGINS/],
    [{ AIRLOCK_CODEC_KEYS: KEYS, AIRLOCK_CODEC_SERVER_PORT: '99999' }, /AIRLOCK_CODEC_SERVER_PORT/],
  ])('refuses %j', (env, message) => {
    expect(() => loadCodecServerConfig(env)).toThrow(message);
  });
});
