// The GitHub and Slack reporters against the local fakes: the calls they make for a promotion's
// states, idempotence, and how GitHub's rate-limit and refusal answers become Temporal failures.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/rest';
import { WebClient } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { createGithubReporter, toFailure } from '../../src/integrations/github/github-reporter';
import { createSlackNotifier } from '../../src/integrations/slack/slack-notifier';
import type { PromotionState } from '../../src/workflows/messages';
import { startGithubFake, type GithubFake } from '../fakes/github-fake';
import { startSlackFake } from '../fakes/slack-fake';
import type { HttpFake } from '../fakes/http-fake';

let github: GithubFake;
let slack: HttpFake;
beforeAll(async () => {
  github = await startGithubFake();
  slack = await startSlackFake();
});
afterAll(async () => {
  await github?.close();
  await slack?.close();
});

const COMMIT = 'a'.repeat(40);
function at(stage: PromotionState['stage'], extra: Partial<PromotionState> = {}): PromotionState {
  return {
    workflowId: `promotion-notification-service-${COMMIT}`,
    change: {
      service: 'notification-service',
      commit: COMMIT,
      author: 'airlock-agent[bot]',
      version: 'v2',
      repository: 'acme/infra',
    },
    stage,
    now: '2026-03-02T12:00:00.000Z',
    shortBake: false,
    findings: [
      { rule: 'probe-threshold', level: 'warn', message: 'failureThreshold 3 is the minimum' },
    ] as PromotionState['findings'],
    approvals: [],
    refusals: [],
    errorRate: {
      samples: 3,
      inconclusive: 0,
      stale: 0,
      last: {
        environment: 'production',
        rate: 0.01,
        baseline: 0.0098,
        requestCount: 5000,
        errors: 50,
        requests: 5000,
        baselineErrors: 49,
        baselineRequests: 5000,
        observedAt: '2026-03-02T11:59:00Z',
      },
    },
    deployed: [],
    stagingReadyAt: '2026-03-01T10:00:00.000Z',
    bakeEndsAt: '2026-03-02T10:00:00.000Z',
    ...extra,
  };
}

describe('GitHub reporter', () => {
  test('one check run per commit follows the stage; one deployment per environment gets statuses', async () => {
    const reporter = createGithubReporter(new Octokit({ baseUrl: github.url }));
    await reporter.report(at('baking', { now: '2026-03-01T22:00:00.000Z' }));
    await reporter.report(
      at('awaiting_approval', {
        canaryStartedAt: '2026-03-02T10:01:00Z',
        approvals: [{ approver: 'alice', at: 'x', via: 'cli' }],
      }),
    );
    await reporter.report(
      at('ended', {
        outcome: 'rolled_back',
        canaryStartedAt: '2026-03-02T10:01:00Z',
        interruption: { kind: 'rejected', by: 'bob', reason: 'logs' },
      }),
    );
    const writes = github.calls
      .filter((c) => c.method !== 'GET')
      .map((c) => `${c.method} ${c.path.replace('/repos/acme/infra', '')}`);
    assert.equal(writes.filter((w) => w === 'POST /check-runs').length, 1);
    assert.equal(writes.filter((w) => w.startsWith('PATCH /check-runs/')).length, 2);
    assert.equal(writes.filter((w) => w === 'POST /deployments').length, 2);
    const first = github.calls.find((c) => c.method === 'POST' && c.path.endsWith('/check-runs'))!.body as any;
    assert.deepEqual(
      [first.head_sha, first.status, first.output.title],
      [COMMIT, 'in_progress', 'baking in staging: 12h 00m left'],
    );
    const patches = github.calls.filter((c) => c.method === 'PATCH').map((c) => c.body as any);
    assert.equal(patches[0].output.title, 'awaiting approval 1/2');
    assert.deepEqual(
      [patches[1].status, patches[1].conclusion, patches[1].output.title],
      ['completed', 'failure', 'rolled_back (rejected)'],
    );
    const statuses = github.calls.filter((c) => c.path.endsWith('/statuses')).map((c) => (c.body as any).state);
    assert.deepEqual(statuses, ['success', 'success', 'in_progress', 'failure', 'failure']);
  });

  test("rate limits retry after GitHub's delay; other 4xx are non-retryable", async () => {
    const reporter = createGithubReporter(new Octokit({ baseUrl: github.url }));
    github.rateLimitNext.push('429');
    await assert.rejects(
      reporter.report(at('queued', { change: { ...at('queued').change, commit: 'b'.repeat(40) } })),
      (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.deepEqual([e.type, e.nonRetryable, e.nextRetryDelay], ['AirlockGithubRateLimited', false, 1000]);
        return true;
      },
    );
    const refused = toFailure(
      Object.assign(new Error('Validation Failed'), { status: 422, response: { headers: {} } }),
    );
    assert.ok(refused instanceof ApplicationFailure);
    assert.deepEqual([refused.type, refused.nonRetryable], ['AirlockReporterRejected', true]);
    const primary = toFailure(
      Object.assign(new Error('API rate limit exceeded'), {
        status: 403,
        response: {
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 30) },
        },
      }),
    );
    assert.ok(
      primary instanceof ApplicationFailure && !primary.nonRetryable && Number(primary.nextRetryDelay) > 20_000,
    );
  });
});

describe('Slack notifier', () => {
  test('posts the approval request once a human is needed, then updates the same message', async () => {
    const notifier = createSlackNotifier(
      new WebClient('xoxb-test', { slackApiUrl: `${slack.url}/api/`, retryConfig: { retries: 0 } }),
      'C0DEPLOYS',
    );
    await notifier.report(at('baking'));
    assert.equal(slack.calls.length, 0);
    await notifier.report(at('awaiting_approval'));
    await notifier.report(at('awaiting_approval', { approvals: [{ approver: 'alice', at: 'x', via: 'slack' }] }));
    const [post, update] = slack.calls;
    assert.equal(post.path, '/api/chat.postMessage');
    const blocks = JSON.stringify(
      (post.body as any).blocks ?? JSON.parse(new URLSearchParams(post.body as string).get('blocks')!),
    );
    assert.match(blocks, /airlock_approve/);
    assert.match(blocks, /1\.00% vs baseline 0\.98%/);
    assert.match(blocks, /probe-threshold/);
    assert.equal(update.path, '/api/chat.update');
  });
});
