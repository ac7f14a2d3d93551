// GitHub merge trigger against a live server, a real Temporal dev server and a fake GitHub:
// really signed deliveries start one promotion; forged, replayed, oversized, malformed start none.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { deliveryHeaders, type FakeCommit, type GithubFake } from '../fakes/github-fake';
import { githubExample, mergedPullRequest, pushOf, randomSha } from '../fakes/github-payloads';
import { defaultPayloadConverter } from '@temporalio/common';
import { promotionWorkflowId, type Change, type PromotionInput } from '../../src/workflows/messages';
import { startGithubWebhookRig, type GithubWebhookRig, type LiveServer } from './server-rig';

const SECRET = 'test-webhook-secret-0123456789';
let env: TestWorkflowEnvironment;
let github: GithubFake;
let server: LiveServer;

let rig: GithubWebhookRig;
beforeAll(async () => {
  rig = await startGithubWebhookRig(SECRET);
  ({ env, github, server } = rig);
});
afterAll(() => rig?.close());

const sha = randomSha;

/** The real `pull_request.closed` example, turned into a merge of `files`. */
function mergedPr(files: string[]): { body: string; commit: string; number: number } {
  const commit = sha();
  const number = 1000 + Math.floor(Math.random() * 100000);
  github.prFiles.set(number, files);
  return { body: JSON.stringify(mergedPullRequest({ number, commit })), commit, number };
}

const pushTo = (commit: string, files: string[]): string => JSON.stringify(pushOf(commit, files));

const NOTIFY = ['k8s/production/notification-service/deployment.yaml'];

/** The change a started promotion was given, read from its first history event. */
async function startedChange(service: string, commit: string): Promise<Change> {
  const history = await env.client.workflow.getHandle(promotionWorkflowId({ service, commit })).fetchHistory();
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return defaultPayloadConverter.fromPayload<PromotionInput>(payload as never).change;
}

async function assertNotStarted(service: string, commit: string) {
  await assert.rejects(
    env.client.workflow.getHandle(promotionWorkflowId({ service, commit })).describe(),
    WorkflowNotFoundError,
  );
}

describe('POST /webhooks/github', () => {
  test('a merged pull request starts one promotion; redelivery and the push twin answer with the same workflow', async () => {
    const pr = mergedPr(NOTIFY);
    const headers = deliveryHeaders('pull_request', SECRET, pr.body);
    const first = await server.post('/webhooks/github', pr.body, headers);
    assert.equal(first.status, 201, JSON.stringify(first.json));
    const workflowId = promotionWorkflowId({ service: 'notification-service', commit: pr.commit });
    assert.deepEqual(first.json, { workflowId, started: true, service: 'notification-service' });
    const desc = await env.client.workflow.getHandle(workflowId).describe();
    assert.equal(
      desc.typedSearchAttributes.get({ name: 'AirlockService', type: 'KEYWORD' } as never),
      'notification-service',
    );
    // GitHub's "Redeliver" sends the same bytes and delivery id.
    const again = await server.post('/webhooks/github', pr.body, headers);
    assert.deepEqual(
      [again.status, again.json],
      [200, { workflowId, started: false, service: 'notification-service' }],
    );
    const push = pushTo(pr.commit, NOTIFY);
    const twin = await server.post('/webhooks/github', push, deliveryHeaders('push', SECRET, push));
    assert.deepEqual([twin.status, twin.json.workflowId, twin.json.started], [200, workflowId, false]);
    assert.equal((await env.client.workflow.getHandle(workflowId).describe()).runId, desc.runId);
  });

  test('unsigned, forged and tampered deliveries get 401 and start nothing', async () => {
    const pr = mergedPr(NOTIFY);
    const good = deliveryHeaders('pull_request', SECRET, pr.body);
    const { ['x-hub-signature-256']: _, ...unsigned } = good;
    const r1 = await server.post('/webhooks/github', pr.body, unsigned);
    assert.deepEqual(
      [r1.status, r1.json.error],
      [401, 'x-hub-signature-256: missing; unsigned deliveries are refused'],
    );
    const r2 = await server.post(
      '/webhooks/github',
      pr.body,
      deliveryHeaders('pull_request', 'not-the-secret-at-all-000', pr.body),
    );
    assert.deepEqual([r2.status, r2.json.error], [401, 'x-hub-signature-256: does not match the webhook secret']);
    const tampered = pr.body.replace('"airlock-agent[bot]"', '"alice"');
    assert.notEqual(tampered, pr.body);
    const r3 = await server.post('/webhooks/github', tampered, good);
    assert.equal(r3.status, 401);
    await assertNotStarted('notification-service', pr.commit);
  });

  test('malformed and oversized deliveries get 400 / 413 naming the problem', async () => {
    const notJson = '{"action":';
    const r1 = await server.post('/webhooks/github', notJson, deliveryHeaders('pull_request', SECRET, notJson));
    assert.deepEqual([r1.status, r1.json.error], [400, 'body: not valid JSON']);
    const pr = JSON.parse(mergedPr(NOTIFY).body);
    pr.pull_request.merge_commit_sha = 'not-a-sha';
    const bad = JSON.stringify(pr);
    const r2 = await server.post('/webhooks/github', bad, deliveryHeaders('pull_request', SECRET, bad));
    assert.deepEqual(
      [r2.status, r2.json.error],
      [400, 'pull_request payload: pull_request.merge_commit_sha: must be a 40-hex commit SHA'],
    );
    const big = JSON.stringify({ padding: 'x'.repeat(70 * 1024) });
    const r3 = await server.post('/webhooks/github', big, deliveryHeaders('pull_request', SECRET, big));
    assert.equal(r3.status, 413);
    assert.match(r3.json.error, /body: larger than 65536 bytes/);
  });

  test('a change touching no declared service or several services gets 422 with the reason', async () => {
    const none = mergedPr(['docs/README.md']);
    const r1 = await server.post('/webhooks/github', none.body, deliveryHeaders('pull_request', SECRET, none.body));
    assert.equal(r1.status, 422);
    assert.match(
      r1.json.error,
      /touches no service declared in policy.services \(1 changed paths, e.g. docs\/README.md\)/,
    );
    const two = mergedPr([...NOTIFY, 'k8s/staging/search-service/hpa.yaml']);
    const r2 = await server.post('/webhooks/github', two.body, deliveryHeaders('pull_request', SECRET, two.body));
    assert.deepEqual(
      [r2.status, r2.json.error],
      [
        422,
        'change touches 2 services (notification-service, search-service); one promotion carries one service, split the change',
      ],
    );
    await assertNotStarted('notification-service', two.commit);
    await assertNotStarted('search-service', two.commit);
  });

  test('events that are not merges are acknowledged and ignored', async () => {
    const opened = JSON.stringify(githubExample('pull_request', (x) => x.action === 'opened'));
    const r1 = await server.post('/webhooks/github', opened, deliveryHeaders('pull_request', SECRET, opened));
    assert.deepEqual([r1.status, r1.json.ignored], [202, 'pull_request opened: nothing to promote']);
    const tag = JSON.stringify(githubExample('push', (x) => x.ref === 'refs/tags/simple-tag'));
    const r2 = await server.post('/webhooks/github', tag, deliveryHeaders('push', SECRET, tag));
    assert.equal(r2.status, 202);
  });

  test('merges into a side branch or from an unconfigured repository are ignored (202, with why) and start nothing', async () => {
    // The agent merges into an unprotected branch to skip review on main.
    const side = JSON.parse(mergedPr(NOTIFY).body);
    side.pull_request.base.ref = 'feature-x';
    const sideBody = JSON.stringify(side);
    const r1 = await server.post('/webhooks/github', sideBody, deliveryHeaders('pull_request', SECRET, sideBody));
    assert.deepEqual([r1.status, r1.json], [202, { ignored: 'merged into feature-x, not the default branch master' }]);
    await assertNotStarted('notification-service', side.pull_request.merge_commit_sha);
    // A repository the server was not configured for, signed with the same secret (an org-wide hook).
    const evil = JSON.parse(mergedPr(NOTIFY).body);
    evil.repository.full_name = 'evil/repo';
    const evilBody = JSON.stringify(evil);
    const r2 = await server.post('/webhooks/github', evilBody, deliveryHeaders('pull_request', SECRET, evilBody));
    assert.deepEqual(
      [r2.status, r2.json],
      [202, { ignored: 'repository evil/repo is not configured (AIRLOCK_REPOSITORIES)' }],
    );
    await assertNotStarted('notification-service', evil.pull_request.merge_commit_sha);
    // Pushes follow the same rules: the default branch of a configured repository only.
    const commit = sha();
    const sidePush = pushOf(commit, NOTIFY);
    sidePush.ref = 'refs/heads/feature-x';
    const sidePushBody = JSON.stringify(sidePush);
    const r3 = await server.post('/webhooks/github', sidePushBody, deliveryHeaders('push', SECRET, sidePushBody));
    assert.deepEqual([r3.status, r3.json], [202, { ignored: 'pushed to feature-x, not the default branch master' }]);
    const evilPush = pushOf(commit, NOTIFY);
    evilPush.repository.full_name = 'Codertocat/Hello-World-fork';
    const evilPushBody = JSON.stringify(evilPush);
    const r4 = await server.post('/webhooks/github', evilPushBody, deliveryHeaders('push', SECRET, evilPushBody));
    assert.deepEqual(
      [r4.status, r4.json],
      [202, { ignored: 'repository Codertocat/Hello-World-fork is not configured (AIRLOCK_REPOSITORIES)' }],
    );
    await assertNotStarted('notification-service', commit);
  });

  test('the repository match is case-insensitive: a configured repository in another case is promoted', async () => {
    const pr = JSON.parse(mergedPr(NOTIFY).body);
    pr.repository.full_name = 'CODERTOCAT/hello-WORLD';
    const body = JSON.stringify(pr);
    const r = await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.started, true);
  });

  test("the author set: the opener, every commit's author and committer on every page, and the merger", async () => {
    const pr = JSON.parse(mergedPr(NOTIFY).body);
    // 130 commits (two pages of 100): the agent's, then a co-author's, a commit whose git email
    // matches no GitHub account, and alice's at the very end; bob pressed merge.
    const commits: FakeCommit[] = Array.from({ length: 126 }, () => ({
      author: 'airlock-agent[bot]',
      committer: 'web-flow',
    }));
    commits.push(
      { author: 'Carol-GH', committer: 'airlock-agent[bot]' },
      {
        author: null,
        committer: null,
        git: {
          author: { name: 'Dave Doe', email: 'dave@example.com' },
          committer: { name: 'Dave Doe', email: 'dave@example.com' },
        },
      },
      { author: 'airlock-agent[bot]', committer: 'web-flow' },
      { author: 'ALICE', committer: 'web-flow' },
    );
    github.prCommits.set(pr.number, commits);
    pr.pull_request.commits = commits.length;
    pr.pull_request.merged_by = { ...pr.pull_request.user, login: 'Bob' };
    const body = JSON.stringify(pr);
    const r = await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const change = await startedChange('notification-service', pr.pull_request.merge_commit_sha);
    assert.equal(change.author, 'airlock-agent[bot]');
    assert.deepEqual(change.authors, [
      'airlock-agent[bot]',
      'web-flow',
      'Carol-GH',
      'dave@example.com',
      'Dave Doe',
      'ALICE',
      'Bob',
    ]);
    const pages = github.calls.filter((c) => c.path === `/repos/Codertocat/Hello-World/pulls/${pr.number}/commits`);
    assert.deepEqual(
      pages.map((c) => c.query.get('page') ?? '1'),
      ['1', '2'],
    );
  });

  test('a pull request with more commits than GitHub lists (250) is refused: its author set would be incomplete', async () => {
    const pr = JSON.parse(mergedPr(NOTIFY).body);
    // The agent buries a co-author's commit past the 250 GitHub lists.
    const commits: FakeCommit[] = Array.from({ length: 260 }, () => ({
      author: 'airlock-agent[bot]',
      committer: 'web-flow',
    }));
    commits.push({ author: 'alice', committer: 'web-flow' });
    github.prCommits.set(pr.number, commits);
    pr.pull_request.commits = commits.length;
    const body = JSON.stringify(pr);
    const r = await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body));
    assert.deepEqual(
      [r.status, r.json.error],
      [
        422,
        'pull_request: GitHub listed 250 of its 261 commits (it lists at most 250), so the author set would be incomplete; split the change into smaller pull requests',
      ],
    );
    await assertNotStarted('notification-service', pr.pull_request.merge_commit_sha);
  });

  test("a push's author set is the pusher and every commit's claimed author and committer", async () => {
    const commit = sha();
    const push = pushOf(commit, NOTIFY);
    push.pusher.name = 'alice';
    push.commits[0].author = { name: 'Someone Else', email: 'else@example.com' }; // no GitHub account matched
    const body = JSON.stringify(push);
    const r = await server.post('/webhooks/github', body, deliveryHeaders('push', SECRET, body));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const change = await startedChange('notification-service', commit);
    assert.deepEqual(change.authors, ['alice', 'Codertocat', 'else@example.com', 'Someone Else']);
  });

  test('/healthz and /readyz', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.deepEqual([ready.status, await ready.json()], [200, { ready: true }]);
  });
});
