// Server controls that need no Temporal: rate limits per client address and route, a /readyz that
// tells an anonymous caller only ready or not, and a configuration that refuses unsafe settings.
import { afterEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../../src/server/app';
import { loadServerConfig, type ServerConfig } from '../../../src/server/config';
import type { ServerDeps } from '../../../src/server/deps';
import { parsePolicy } from '../../../src/policy/config/load';
import { testPolicyYaml } from '../../helpers/harness';
import { testSecretKey } from '../../helpers/approver-keys';

const policyText = testPolicyYaml();
let systemInfo: () => Promise<unknown> = async () => ({});
let policyBroken = false;
const deps: ServerDeps = {
  // Only /readyz reaches Temporal in these tests, and only through getSystemInfo.
  temporal: { workflowService: { getSystemInfo: () => systemInfo() } } as never,
  taskQueue: 'unused',
  loadPolicy: () => {
    if (policyBroken) throw new Error('policy /etc/airlock/airlock.policy.yaml: approvers.required: secret detail');
    return parsePolicy(policyText, 'test-policy').policy;
  },
};
const base: ServerConfig = {
  host: '127.0.0.1',
  port: 0,
  bodyLimit: 64 * 1024,
  github: { webhookSecret: 'hardening-webhook-secret-0123', repositories: ['codertocat/hello-world'] },
  slack: { signingSecret: 'hardening-slack-secret', teamId: 'T0001', bridgeSecretKey: testSecretKey('slack-bridge') },
  alerts: { alertmanagerToken: 'hardening-alertmanager-token', datadogToken: 'hardening-datadog-token-01' },
};

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  systemInfo = async () => ({});
  policyBroken = false;
});

const post = (url: string, ip: string) =>
  app!.inject({
    method: 'POST',
    url,
    payload: '{}',
    headers: { 'content-type': 'application/json' },
    remoteAddress: ip,
  });

describe('rate limits', () => {
  test('a flood of one route from one address gets 429; other routes and other addresses are unaffected', async () => {
    const limits = { windowMs: 60_000, github: 5, slack: 5, alerts: 5, health: 5 };
    app = createServer({ ...base, rateLimits: limits }, deps);
    const flood = [];
    for (let i = 0; i < 8; i++) flood.push((await post('/webhooks/github', '203.0.113.7')).statusCode);
    // The first five are read (and refused as unsigned); the rest are not even read.
    assert.deepEqual(flood, [401, 401, 401, 401, 401, 429, 429, 429]);
    const limited = await post('/webhooks/github', '203.0.113.7');
    assert.equal(limited.statusCode, 429);
    assert.match(
      limited.json().error,
      /^rate limit: more than 5 requests to POST \/webhooks\/github from this address in 60 s; retry in /,
    );
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Another address, the same route: its own counter.
    assert.equal((await post('/webhooks/github', '198.51.100.9')).statusCode, 401);
    // The same address, other routes: their own counters.
    assert.equal((await post('/webhooks/alerts', '203.0.113.7')).statusCode, 401);
    assert.equal((await post('/slack/interactions', '203.0.113.7')).statusCode, 401);
    const health = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7' });
    assert.equal(health.statusCode, 200);
  });

  test('the defaults apply when the configuration names none, and loadServerConfig reads the settings', async () => {
    const c = loadServerConfig({ AIRLOCK_RATE_LIMIT_GITHUB: '7', AIRLOCK_RATE_LIMIT_WINDOW_SECONDS: '30' });
    assert.deepEqual(c.rateLimits, { windowMs: 30_000, github: 7, slack: 120, alerts: 300, health: 600 });
    assert.throws(() => loadServerConfig({ AIRLOCK_RATE_LIMIT_SLACK: '0' }), /AIRLOCK_RATE_LIMIT_SLACK: /);
    assert.throws(() => loadServerConfig({ AIRLOCK_RATE_LIMIT_ALERTS: 'lots' }), /AIRLOCK_RATE_LIMIT_ALERTS: /);
    app = createServer({ ...base }, deps); // no rateLimits: DEFAULT_RATE_LIMITS (120 a minute on GitHub)
    const codes = new Set<number>();
    for (let i = 0; i < 120; i++) codes.add((await post('/webhooks/github', '203.0.113.8')).statusCode);
    assert.deepEqual([...codes], [401]);
    assert.equal((await post('/webhooks/github', '203.0.113.8')).statusCode, 429);
  });
});

describe('/readyz', () => {
  test('answers ready or not ready, never the internal reason', async () => {
    app = createServer(base, deps);
    const ok = await app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual([ok.statusCode, ok.json()], [200, { ready: true }]);
    systemInfo = async () => {
      throw new Error('14 UNAVAILABLE: connect ECONNREFUSED 10.0.3.17:7233');
    };
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual([down.statusCode, down.json()], [503, { ready: false }]);
    assert.doesNotMatch(down.body, /10\.0\.3\.17|ECONNREFUSED|UNAVAILABLE/);
    systemInfo = async () => ({});
    policyBroken = true;
    const broken = await app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual([broken.statusCode, broken.json()], [503, { ready: false }]);
    assert.doesNotMatch(broken.body, /airlock\.policy|secret detail/);
  });
});

describe('server configuration', () => {
  test('AIRLOCK_REPOSITORIES: required with the webhook secret, owner/name entries, compared in lower case', () => {
    assert.throws(
      () => loadServerConfig({ GITHUB_WEBHOOK_SECRET: 'x'.repeat(20) }),
      /^Error: server config: AIRLOCK_REPOSITORIES: is required when GITHUB_WEBHOOK_SECRET is set/,
    );
    const c = loadServerConfig({
      GITHUB_WEBHOOK_SECRET: 'x'.repeat(20),
      AIRLOCK_REPOSITORIES: ' Acme/Infra , acme/infra,other/Repo.js ',
    });
    assert.deepEqual(c.github?.repositories, ['acme/infra', 'other/repo.js']);
    for (const bad of ['', ',', 'acme', 'acme/infra/x', 'acme/in fra'])
      assert.throws(
        () => loadServerConfig({ GITHUB_WEBHOOK_SECRET: 'x'.repeat(20), AIRLOCK_REPOSITORIES: bad }),
        /server config: AIRLOCK_REPOSITORIES: /,
        bad,
      );
    // No GitHub integration: the setting is not needed (compose without secrets still starts).
    assert.equal(loadServerConfig({}).github, undefined);
  });

  test('SLACK_TEAM_ID: required with the signing secret, and must look like a team id', () => {
    assert.throws(
      () => loadServerConfig({ SLACK_SIGNING_SECRET: 's', AIRLOCK_SLACK_BRIDGE_KEY_FILE: '/nonexistent' }),
      /server config: SLACK_TEAM_ID: is required when SLACK_SIGNING_SECRET is set/,
    );
    assert.throws(
      () => loadServerConfig({ SLACK_TEAM_ID: 'acme' }),
      /server config: SLACK_TEAM_ID: must be a Slack team id/,
    );
  });

  test('one token per alert source: the shared AIRLOCK_ALERT_TOKEN is refused, equal tokens too', () => {
    assert.throws(
      () => loadServerConfig({ AIRLOCK_ALERT_TOKEN: 'y'.repeat(20) }),
      /server config: AIRLOCK_ALERT_TOKEN: is replaced by AIRLOCK_ALERTMANAGER_TOKEN and AIRLOCK_DATADOG_TOKEN/,
    );
    assert.throws(
      () => loadServerConfig({ AIRLOCK_ALERTMANAGER_TOKEN: 'y'.repeat(20), AIRLOCK_DATADOG_TOKEN: 'y'.repeat(20) }),
      /AIRLOCK_DATADOG_TOKEN: must differ from AIRLOCK_ALERTMANAGER_TOKEN/,
    );
    assert.deepEqual(loadServerConfig({ AIRLOCK_DATADOG_TOKEN: 'z'.repeat(20) }).alerts, {
      datadogToken: 'z'.repeat(20),
    });
    assert.throws(
      () => loadServerConfig({ AIRLOCK_DATADOG_TOKEN: 'short' }),
      /AIRLOCK_DATADOG_TOKEN: must be at least 16/,
    );
  });
});
