// A local Slack: response_url endpoints and the Web API methods the notifier calls, plus request
// signing exactly as Slack does it (v0, HMAC SHA-256 of "v0:{timestamp}:{body}").
import { createHmac } from 'node:crypto';
import { startHttpFake, type HttpFake } from './http-fake';

export async function startSlackFake(): Promise<HttpFake> {
  const fake = await startHttpFake('slack');
  let ts = 1;
  fake.route('POST', /^\/respond\/.+$/, () => ({ status: 200, body: { ok: true } }));
  fake.route('POST', /^\/api\/chat\.postMessage$/, (c) => ({
    status: 200,
    body: {
      ok: true,
      channel: (c.body as { channel?: string })?.channel ?? 'C1',
      ts: `1700000000.${String(ts++).padStart(6, '0')}`,
    },
  }));
  fake.route('POST', /^\/api\/chat\.update$/, (c) => ({
    status: 200,
    body: { ok: true, channel: (c.body as { channel?: string })?.channel, ts: (c.body as { ts?: string })?.ts },
  }));
  return fake;
}

export function slackHeaders(
  signingSecret: string,
  body: string,
  timestampSec = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestampSec),
    'x-slack-signature': signature,
  };
}
