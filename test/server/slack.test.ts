// Slack approvals against a live server, a real Temporal dev server (short bake) and a fake Slack:
// a verified click becomes a bridge-signed approval; forged, stale, replayed, malformed and
// unmapped requests change nothing.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { createRig, devServerEnv, state, type PolicyOverrides } from '../helpers/harness';
import { signedApproval, signedWaiver, testPublicKey, testSecretKey } from '../helpers/approver-keys';
import { approvalBlocks } from '../../src/integrations/slack/approval-blocks';
import { slackHeaders, startSlackFake } from '../fakes/slack-fake';
import type { HttpFake } from '../fakes/http-fake';
import { createSlackPoster } from '../../src/integrations/slack/slack-poster';
import {
  abortUpdate,
  approveUpdate,
  waiveUpdate,
  type PromotionResult,
  type PromotionState,
} from '../../src/workflows/messages';
import { startLiveServer, TEST_TEAM_ID, type LiveServer } from './server-rig';

const SIGNING_SECRET = 'slack-signing-secret-test';
const policy: PolicyOverrides = {
  bakeHours: 0.001,
  canaryMinutes: 0.05,
  productionWatchMinutes: 0.05,
  extra: `integrations:\n  slack: { bridgePublicKey: "${testPublicKey('slack-bridge')}" }\n`,
};
let env: TestWorkflowEnvironment;
let slack: HttpFake;
let server: LiveServer;

beforeAll(async () => {
  env = await devServerEnv();
  slack = await startSlackFake();
  server = await startLiveServer(
    env,
    { slack: { signingSecret: SIGNING_SECRET, teamId: TEST_TEAM_ID, bridgeSecretKey: testSecretKey('slack-bridge') } },
    { policy, slack: createSlackPoster([`${slack.url}/respond/`]) },
  );
});
afterAll(async () => {
  await server?.app.close();
  await slack?.close();
  await env?.teardown();
});

async function until(h: WorkflowHandle, pred: (s: PromotionState) => boolean): Promise<PromotionState> {
  for (let i = 0; i < 300; i++) {
    const s = await state(h);
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('state never reached');
}

let clicks = 0;
/** A block_actions payload as Slack sends it for a button click. */
function click(
  user: string,
  workflowId: string,
  action = 'airlock_approve',
  value = workflowId,
  o: { team?: string; responseUrl?: string } = {},
): { body: string; respondPath: string } {
  const respondPath = `/respond/T0001/${++clicks}`;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0001' },
    api_app_id: 'A0001',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0001', is_ephemeral: false },
    trigger_id: '123.456.abc',
    team: { id: o.team ?? 'T0001', domain: 'example' },
    channel: { id: 'C0001', name: 'deploys' },
    response_url: o.responseUrl ?? `${slack.url}${respondPath}`,
    actions: [
      {
        action_id: action,
        block_id: 'airlock_decision',
        text: { type: 'plain_text', text: 'Approve' },
        value,
        type: 'button',
        action_ts: '1700000001.000200',
      },
    ],
  };
  return { body: `payload=${encodeURIComponent(JSON.stringify(payload))}`, respondPath };
}

const contextText = (msg: any): string => JSON.stringify(msg.blocks);

/** Posts a signed click, checks Slack got its 200 at once, and returns what went to its response_url. */
async function answerTo(c: { body: string; respondPath: string }): Promise<string> {
  assert.equal((await server.post('/slack/interactions', c.body, slackHeaders(SIGNING_SECRET, c.body))).status, 200);
  return contextText((await slack.waitFor((x) => x.path === c.respondPath)).body);
}

/** A signed-to-be /airlock command body as Slack sends it. */
const command = (text: string, o: { team?: string; responseUrl?: string } = {}): string =>
  new URLSearchParams({
    command: '/airlock',
    text,
    user_id: 'U0ALICE01',
    response_url: o.responseUrl ?? `${slack.url}/respond/cmd/${++clicks}`,
    team_id: o.team ?? 'T0001',
  }).toString();

describe('Slack interactions', () => {
  test('verified clicks approve as the mapped approver; forged, stale, replayed, malformed, unmapped and over-the-bridge-cap ones change nothing', async () => {
    const rig = createRig(env, { policy });
    // The rig starts the promotion and runs the worker; the server only takes the clicks.
    await rig.run(async () => {
      const h = await rig.start();
      const asking = await until(h, (s) => s.stage === 'awaiting_approval');
      assert.equal(asking.approvals.length, 0);

      const alice = click('U0ALICE01', h.workflowId);
      const headers = slackHeaders(SIGNING_SECRET, alice.body);
      const ack = await server.post('/slack/interactions', alice.body, headers);
      assert.equal(ack.status, 200);
      const update = await slack.waitFor((c) => c.path === alice.respondPath);
      assert.equal((update.body as any).replace_original, true);
      assert.match(contextText(update.body), /Approved by alice \(1\/2\)/);
      assert.match(contextText(update.body), /Canary error rate/);

      // The same request again (captured and replayed within Slack's 5 minutes).
      const replay = await server.post('/slack/interactions', alice.body, headers);
      assert.deepEqual(
        [replay.status, replay.json.error],
        [401, 'slack signature: this exact request was already received (replay)'],
      );
      // Signed with the wrong secret, and correctly signed but 6 minutes old.
      const bob = click('U0BOB0001', h.workflowId);
      const forged = await server.post(
        '/slack/interactions',
        bob.body,
        slackHeaders('not-the-signing-secret', bob.body),
      );
      assert.equal(forged.status, 401);
      assert.match(forged.json.error, /^slack signature: /);
      const stale = await server.post(
        '/slack/interactions',
        bob.body,
        slackHeaders(SIGNING_SECRET, bob.body, Math.floor(Date.now() / 1000) - 360),
      );
      assert.equal(stale.status, 401);
      assert.match(stale.json.error, /stale|old|timestamp/i);
      const missing = await server.post('/slack/interactions', bob.body, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.deepEqual([missing.status, missing.json.error], [401, 'x-slack-signature: missing']);
      // Signed but malformed.
      const junk = 'payload=%7Bnot-json';
      const bad = await server.post('/slack/interactions', junk, slackHeaders(SIGNING_SECRET, junk));
      assert.deepEqual([bad.status, bad.json.error], [400, 'payload: missing or not JSON']);
      const wrongId = click('U0BOB0001', 'promotion-../../etc');
      const bad2 = await server.post('/slack/interactions', wrongId.body, slackHeaders(SIGNING_SECRET, wrongId.body));
      assert.deepEqual(
        [bad2.status, bad2.json.error],
        [400, 'payload.actions.0.value: must be a promotion workflow id'],
      );
      // A verified Slack user who is no approver.
      const nobody = click('U0NOBODY1', h.workflowId);
      assert.equal(
        (await server.post('/slack/interactions', nobody.body, slackHeaders(SIGNING_SECRET, nobody.body))).status,
        200,
      );
      const refusal = await slack.waitFor((c) => c.path === nobody.respondPath);
      assert.match((refusal.body as any).text, /U0NOBODY1> is not mapped to an approver/);

      let s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => [a.approver, a.via, a.attribution]),
        [['alice', 'slack', 'slack-bridge']],
      );
      assert.equal(s.refusals.length, 0);

      // A button made for another message: it names a production change this promotion does not show.
      const moved = click('U0BOB0001', h.workflowId, 'airlock_approve', `${h.workflowId} sha256:${'0'.repeat(64)}`);
      assert.equal(
        (await server.post('/slack/interactions', moved.body, slackHeaders(SIGNING_SECRET, moved.body))).status,
        200,
      );
      const movedAnswer = await slack.waitFor((c) => c.path === moved.respondPath);
      assert.match(contextText(movedAnswer.body), /bob's approve refused: .*names a production change/);
      assert.equal((await state(h)).approvals.length, 1);

      // bob's click is verified, but a second approval on the bridge key alone would let one leaked
      // signing secret make the whole quorum (approvers.maxBridgeApprovals, default required − 1).
      assert.match(
        await answerTo(bob),
        /bob's approve refused: .*already rest on the Slack bridge key alone.*maxBridgeApprovals/,
      );
      s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => a.approver),
        ['alice'],
      );
      // bob signs with his own key: the set completes; the promotion reaches production.
      const second = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      assert.equal(second.complete, true);
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      s = await state(h);
      assert.equal(s.stage, 'ended');
    });
  });

  test("Waive clicks: bridge-signed waivers of the findings shown; the bridge never makes a finding's quorum", async () => {
    const replicas = {
      rule: 'replicas',
      level: 'block' as const,
      file: 'k8s/a.yaml',
      line: 4,
      message: 'replicas 3 → 30',
    };
    const rig = createRig(env, { policy, deps: { checkChange: async () => [replicas] } });
    await rig.run(async () => {
      const h = await rig.start();
      const blocked = await until(h, (s) => s.stage === 'awaiting_waiver');
      const id = blocked.findings[0].id!;
      // The message Slack shows: the findings and a Waive button carrying exactly their ids.
      const shown = JSON.stringify(approvalBlocks(blocked).blocks);
      assert.match(shown, new RegExp(`"action_id":"airlock_waive".*"value":"${h.workflowId} ${id}"`));

      const alice = click('U0ALICE01', h.workflowId, 'airlock_waive', `${h.workflowId} ${id}`);
      const answer = await answerTo(alice);
      assert.match(answer, new RegExp(`Waived by alice; still waiting: ${id}`));
      assert.match(answer, /airlock_waive/, 'still awaiting: the button stays');
      // A second bridge waiver of the same finding would let one leaked signing secret make its quorum.
      const bob = click('U0BOB0001', h.workflowId, 'airlock_waive', `${h.workflowId} ${id}`);
      assert.match(
        await answerTo(bob),
        /bob's waive refused: waive: 1 of the waivers of a finding already rest on the Slack bridge key alone/,
      );
      // A button value that is not a workflow id and finding ids is refused before anything runs.
      const junk = click('U0BOB0001', h.workflowId, 'airlock_waive', `${h.workflowId} ../etc`);
      const bad = await server.post('/slack/interactions', junk.body, slackHeaders(SIGNING_SECRET, junk.body));
      assert.deepEqual(
        [bad.status, bad.json.error],
        [400, 'payload.actions.0.value: must be a promotion workflow id and finding ids'],
      );

      let s = await state(h);
      assert.deepEqual(
        s.waivers!.map((w) => [w.by, w.via, w.attribution, w.findings]),
        [['alice', 'slack', 'slack-bridge', [id]]],
      );
      assert.equal(s.refusals.length, 1, 'the capped waiver is recorded');
      // bob signs with his own key: every finding is waived; the change goes on to staging.
      const done = await h.executeUpdate(waiveUpdate, { args: [await signedWaiver(env, h, 'bob', [id])] });
      assert.equal(done.complete, true);
      s = await until(h, (x) => x.stage !== 'awaiting_waiver');
      assert.ok(['queued', 'staging', 'baking'].includes(s.stage), s.stage);
      await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'end of test' }] });
      assert.equal((await h.result()).outcome, 'aborted');
    });
  });

  test('/airlock status answers at once; unknown verbs get the usage', async () => {
    const body = new URLSearchParams({
      command: '/airlock',
      text: 'status promotion-none-0000000000000000000000000000000000000000',
      user_id: 'U0ALICE01',
      response_url: `${slack.url}/respond/cmd/1`,
      team_id: 'T0001',
      channel_id: 'C0001',
    }).toString();
    const r = await server.post('/slack/commands', body, slackHeaders(SIGNING_SECRET, body));
    assert.equal(r.status, 200);
    assert.match(r.json.text, /^status: no promotion promotion-none-/);
    const help = new URLSearchParams({
      command: '/airlock',
      text: 'deploy everything',
      user_id: 'U0ALICE01',
      response_url: `${slack.url}/respond/cmd/2`,
      team_id: 'T0001',
    }).toString();
    assert.match(
      (await server.post('/slack/commands', help, slackHeaders(SIGNING_SECRET, help))).json.text,
      /^usage: \/airlock status/,
    );
  });

  test('a request from another workspace is refused with 403 and changes nothing', async () => {
    const h = 'promotion-notification-service-' + 'a'.repeat(40);
    const foreign = click('U0ALICE01', h, 'airlock_approve', h, { team: 'T0EVIL001' });
    const r = await server.post('/slack/interactions', foreign.body, slackHeaders(SIGNING_SECRET, foreign.body));
    assert.deepEqual(
      [r.status, r.json.error],
      [403, 'payload.team.id: workspace T0EVIL001 is not the configured SLACK_TEAM_ID'],
    );
    const cmd = command(`approve ${h}`, { team: 'T0EVIL001', responseUrl: `${slack.url}/respond/cmd/evil` });
    const c = await server.post('/slack/commands', cmd, slackHeaders(SIGNING_SECRET, cmd));
    assert.deepEqual(
      [c.status, c.json.error],
      [403, 'team_id: workspace T0EVIL001 is not the configured SLACK_TEAM_ID'],
    );
    // Nothing reached the response_urls: no decision ran.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(slack.calls.filter((x) => x.path === foreign.respondPath || x.path === '/respond/cmd/evil').length, 0);
  });

  test('a signature that is not exactly v0=<64 hex> is refused before comparison and is no new replay key', async () => {
    const body = command('help');
    const headers = slackHeaders(SIGNING_SECRET, body);
    const first = await server.post('/slack/commands', body, headers);
    assert.equal(first.status, 200);
    // Bolt accepts trailing bytes after the hash; each variant would be a fresh key for the replay memory.
    const sig = headers['x-slack-signature'];
    // (Leading and trailing blanks are not variants: HTTP strips them from header values.)
    for (const variant of [
      `${sig}=x`,
      `${sig}=`,
      `${sig}0`,
      sig.toUpperCase().replace('V0=', 'v0='),
      sig.replace('v0=', 'v1='),
    ]) {
      const r = await server.post('/slack/commands', body, { ...headers, 'x-slack-signature': variant });
      assert.deepEqual(
        [r.status, r.json.error],
        [401, 'x-slack-signature: must be v0= followed by 64 lower-case hex digits'],
        JSON.stringify(variant),
      );
    }
    const replay = await server.post('/slack/commands', body, headers);
    assert.deepEqual(
      [replay.status, replay.json.error],
      [401, 'slack signature: this exact request was already received (replay)'],
    );
  });

  test('response_url is compared by parsed scheme and origin: other hosts and schemes are refused', async () => {
    const h = 'promotion-notification-service-' + 'b'.repeat(40);
    const evil = [
      ['javascript:alert(1)', /must be https \(got javascript:\)/],
      ['file:///etc/passwd', /must be https \(got file:\)/],
      ['http://169.254.169.254/latest/meta-data/', /must be https \(got http:\)/],
      ['https://hooks.slack.com.evil.tld/respond/x', /must be a Slack URL under/],
      [`${slack.url}.evil.tld/respond/x`, /must be an absolute URL|must be a Slack URL under|must be https/],
      [`${slack.url.replace('http://', 'http://user:pw@')}/respond/x`, /must not carry credentials/],
      [`${slack.url}/elsewhere/x`, /must be https|must be a Slack URL under/],
      ['not a url', /must be an absolute URL/],
    ] as const;
    for (const [url, why] of evil) {
      const c = click('U0ALICE01', h, 'airlock_approve', h, { responseUrl: url });
      const r = await server.post('/slack/interactions', c.body, slackHeaders(SIGNING_SECRET, c.body));
      assert.equal(r.status, 400, url);
      assert.match(r.json.error, /^payload\.response_url: /, url);
      assert.match(r.json.error, why, url);
    }
    const cmd = command(`approve ${h}`, { responseUrl: 'https://slack.com.evil.tld/' });
    const r = await server.post('/slack/commands', cmd, slackHeaders(SIGNING_SECRET, cmd));
    assert.equal(r.status, 400);
    assert.match(r.json.error, /^response_url: must be a Slack URL under/);
    // The poster itself refuses too (defence in depth), with Slack's real host as the only base.
    const poster = createSlackPoster();
    assert.equal(poster.refuses('https://hooks.slack.com/actions/T1/2/3'), undefined);
    for (const u of [
      'https://hooks.slack.com.evil.tld/x',
      'http://hooks.slack.com/x',
      'https://evil.tld/hooks.slack.com/',
    ])
      assert.ok(poster.refuses(u), u);
    await assert.rejects(poster.respond('javascript:alert(1)', {}), /response_url .* refused/);
  });

  test('untrusted text in /airlock answers is escaped for mrkdwn', async () => {
    const body = command('approve <!channel>|<https://evil.tld|click>');
    const r = await server.post('/slack/commands', body, slackHeaders(SIGNING_SECRET, body));
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.json.text, /<!channel>|<https:/);
    assert.match(r.json.text, /&lt;!channel&gt;/);
  });
});
