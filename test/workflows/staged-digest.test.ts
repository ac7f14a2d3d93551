// The digest staging ran flows through the promotion's state to the canary and the rollout: a tag
// re-pushed during the 24 h bake does not reach production, and approvers see which images are
// pinned and which only had a mutable tag (the simulated deployer: its fixture registry, or none).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { createRig, feed, timeSkippingEnv, untilStage } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';
import { renderStatus } from '../../src/client/render-status';
import { approvalBlocks } from '../../src/integrations/slack/approval-blocks';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

async function approveAndFinish(h: WorkflowHandle): Promise<PromotionResult> {
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
  await feed(env, h, { stop: () => false });
  return h.result();
}

describe('what ran in staging is what production receives', () => {
  test('the tag is re-pushed during the bake: canary and rollout still get staging’s digest', async () => {
    let served = A;
    const rig = createRig(env, { deployer: { registry: (version) => (version === 'v2' ? served : undefined) } });
    await rig.run(async () => {
      const h = await rig.start();
      const baking = await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      assert.deepEqual(baking.stagedImages, [{ reference: 'v2', containers: [], digest: A }]);
      served = B;
      const asking = await feed(env, h, { stop: untilStage('awaiting_approval') });
      assert.match(renderStatus(asking), new RegExp(`image +v2 pinned to digest ${A} from staging`));
      assert.doesNotMatch(renderStatus(asking), /only the mutable tag/);
      assert.match(
        JSON.stringify(approvalBlocks(asking).blocks),
        /What production receives.*v2 pinned to digest sha256:a/,
      );
      const result = await approveAndFinish(h);
      assert.equal(result.outcome, 'promoted');
      const production = rig.deployer.operations.filter((o) => o.op === 'deployCanary' || o.op === 'promote');
      assert.deepEqual(
        production.map((o) => `${o.op}:${o.image}`),
        [`deployCanary:v2@${A}`, `promote:v2@${A}`],
      );
    });
  });

  test('no digest was available: approvers are warned that production may receive another image', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      const asking = await feed(env, h, { stop: untilStage('awaiting_approval') });
      const warning =
        'only the mutable tag v2 was available (the simulation has no registry: no digest reported): production may receive a different image than staging ran';
      assert.ok(renderStatus(asking).includes(`WARNING  ${warning}`), renderStatus(asking));
      assert.ok(JSON.stringify(approvalBlocks(asking).blocks).includes(`:warning: ${warning}`));
      const result = await approveAndFinish(h);
      assert.equal(result.outcome, 'promoted');
      assert.ok(rig.deployer.operations.every((o) => o.image === undefined));
    });
  });
});
