// 100 duplicate deliveries of one merge, all in flight at once, over real HTTP to the live server:
// GitHub redeliveries (same bytes, same delivery id), retries with new delivery ids, and the push
// twin of the merged pull request. Exactly one promotion starts; every answer names it.
import { afterAll, beforeAll, test } from 'vitest';
import { diagnostic } from '../helpers/diagnostic';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deliveryHeaders, type GithubFake } from '../fakes/github-fake';
import { mergedPullRequest, pushOf, randomSha } from '../fakes/github-payloads';
import { startGithubWebhookRig, type GithubWebhookRig, type LiveServer } from '../server/server-rig';
import { promotionWorkflowId } from '../../src/workflows/messages';

const SECRET = 'fault-webhook-secret-0123456789';
const DELIVERIES = 100;
let env: TestWorkflowEnvironment;
let github: GithubFake;
let server: LiveServer;

let rig: GithubWebhookRig;
beforeAll(async () => {
  rig = await startGithubWebhookRig(SECRET);
  ({ env, github, server } = rig);
});
afterAll(() => rig?.close());

test(
  `${DELIVERIES} concurrent duplicate deliveries of one merge start exactly one promotion`,
  { timeout: 120_000 },
  async () => {
    const commit = randomSha();
    const files = ['k8s/production/payment-service/deployment.yaml'];
    const number = 50_000 + Math.floor(Math.random() * 10_000);
    github.prFiles.set(number, files);

    const pr = mergedPullRequest({ number, commit });
    const prBody = JSON.stringify(pr);
    const pushBody = JSON.stringify(pushOf(commit, files, pr.pull_request.base.sha));

    const redelivery = deliveryHeaders('pull_request', SECRET, prBody); // "Redeliver": same bytes, same GUID
    const deliveries = Array.from({ length: DELIVERIES }, (_, i) => {
      if (i % 4 === 0) return { body: pushBody, headers: deliveryHeaders('push', SECRET, pushBody, randomUUID()) };
      if (i % 4 === 1) return { body: prBody, headers: deliveryHeaders('pull_request', SECRET, prBody, randomUUID()) };
      return { body: prBody, headers: redelivery };
    });

    const started = Date.now();
    const answers = await Promise.all(deliveries.map((d) => server.post('/webhooks/github', d.body, d.headers)));
    diagnostic(`${DELIVERIES} deliveries answered in ${Date.now() - started} ms`);

    const workflowId = promotionWorkflowId({ service: 'payment-service', commit });
    const statuses = answers.map((a) => a.status);
    assert.deepEqual(
      statuses.filter((s) => s !== 200 && s !== 201),
      [],
      'every delivery is answered 200 or 201',
    );
    assert.equal(statuses.filter((s) => s === 201).length, 1, 'exactly one delivery started the promotion');
    assert.equal(answers.filter((a) => a.json.started === true).length, 1);
    for (const a of answers) assert.equal(a.json.workflowId, workflowId);

    // Count in Temporal itself: visibility by commit, and the one run's history.
    const query = `WorkflowType = 'promotion' AND AirlockCommit = '${commit}'`;
    const count = async () => (await env.client.workflow.count(query)).count;
    for (let i = 0; i < 50 && (await count()) === 0; i++) await new Promise((r) => setTimeout(r, 100)); // visibility catches up
    assert.equal(await count(), 1, 'one promotion workflow for the commit in visibility');
    const runs: string[] = [];
    for await (const w of env.client.workflow.list({ query })) runs.push(`${w.workflowId}/${w.runId}`);
    assert.equal(runs.length, 1);
    const desc = await env.client.workflow.getHandle(workflowId).describe();
    assert.equal(`${desc.workflowId}/${desc.runId}`, runs[0]);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    assert.equal(history.events!.filter((e) => e.workflowExecutionStartedEventAttributes).length, 1);
    await env.client.workflow.getHandle(workflowId).terminate('fault test over');
  },
);
