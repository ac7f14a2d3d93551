import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, feed, state, timeSkippingEnv, untilStage } from '../helpers/harness';
import { approveUpdate } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
before(async () => { env = await timeSkippingEnv(); });
after(async () => { await env?.teardown(); });

test('smoke: promoted after real 24h bake', async () => {
  const rig = createRig(env);
  await rig.run(async () => {
    const h = await rig.start();
    const t0 = Date.now();
    let s = await feed(env, h, { stop: untilStage('awaiting_approval') });
    console.log('reached approval in', Date.now() - t0, 'ms', s.now, s.bakeEndsAt);
    try {
      const r = await h.executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] });
      console.log('update ok', r);
    } catch (e) { console.log('update err', e); }
    await h.signal('approve', { approver: 'bob' });
    s = await feed(env, h, { stop: (x) => x.stage === 'ended' });
    console.log(await h.result());
    console.log(rig.deployer.operations);
  });
});
