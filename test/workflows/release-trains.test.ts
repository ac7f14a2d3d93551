// Release trains on real Temporal (issue 17, item 1): a merge of a service whose earlier merge is
// still queued joins it. One promotion carries both commits and takes the queued one's place; the
// queued one ends `superseded`, naming its carrier; every author of either commit is excluded.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { createRig, feed, state, timeSkippingEnv, untilStage, updateRefusal, waitFor } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { checkRunTitle } from '../../src/integrations/github/github-reporter';
import { renderStatus } from '../../src/client/render-status';
import { queuePositionKey } from '../../src/workflows/search-attributes';
import {
  abortUpdate,
  approveUpdate,
  slotStateQuery,
  supersedeUpdate,
  type PromotionResult,
} from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const sha = (c: string) => c.repeat(40).slice(0, 40);
const slots = (rig: { slotWorkflowId: string }) =>
  env.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);
const abort = (h: WorkflowHandle, reason: string) => h.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason }] });

describe('release trains', () => {
  test('two merges of a queued service: one promotion carries both, the first ends superseded; authors of either are excluded', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      // Another service holds the slot, so the notification-service merges queue.
      const holder = await rig.start({ service: 'search-service' });
      await feed(env, holder, { stop: untilStage('baking'), stepMinutes: 1 });
      const first = await rig.start({
        commit: sha('a'),
        baseCommit: sha('0'),
        author: 'airlock-agent[bot]',
        authors: ['airlock-agent[bot]', 'carol'],
        title: 'raise replicas',
        version: 'v2',
      });
      await waitFor(
        () => state(first),
        (s) => s.stage === 'queued' && s.queuePosition === 1,
        'first merge queued at position 1',
      );
      // Anyone can send an update; the slot queue must say the sender took the place over.
      assert.match(
        await updateRefusal(first.executeUpdate(supersedeUpdate, { args: [{ by: 'promotion-forged' }] })),
        /slot queue does not show promotion-forged carrying this promotion/,
      );
      assert.equal((await state(first)).stage, 'queued');

      const second = await rig.start({
        commit: sha('b'),
        baseCommit: sha('a'),
        author: 'airlock-agent[bot]',
        authors: ['airlock-agent[bot]', 'dave'],
        title: 'new image',
        version: 'v3',
      });
      const r1 = (await first.result()) as PromotionResult;
      assert.equal(r1.outcome, 'superseded');
      assert.equal(r1.supersededBy, second.workflowId);
      assert.deepEqual(r1.interruption, { kind: 'superseded', by: second.workflowId });
      // Its check run says so (the last report the reporters got).
      const last1 = rig.reports.filter((r) => r.workflowId === first.workflowId).at(-1)!;
      assert.equal(checkRunTitle(last1), `superseded: carried by ${second.workflowId}`);

      const s2 = await waitFor(
        () => state(second),
        (s) => s.stage === 'queued',
        'second queued',
      );
      assert.deepEqual(
        s2.train?.map((t) => [t.commit, t.workflowId]),
        [
          [sha('a'), first.workflowId],
          [sha('b'), second.workflowId],
        ],
      );
      // The gate judged the cumulative change: the oldest base, the newest head.
      assert.equal(s2.change.baseCommit, sha('0'));
      assert.equal(s2.change.commit, sha('b'));
      assert.deepEqual([...s2.change.authors!].sort(), ['airlock-agent[bot]', 'carol', 'dave']);
      // It took the first one's place, and nothing of the first was ever deployed.
      const q = (await slots(rig)).queue;
      assert.deepEqual(
        q.map((e) => [e.workflowId, e.replaced, e.pending]),
        [[second.workflowId, [first.workflowId], undefined]],
      );
      assert.equal(s2.queuePosition, 1);
      // Visibility carries the place too (AirlockQueuePosition), and `airlock status` the train.
      const position = async () => (await second.describe()).typedSearchAttributes.get(queuePositionKey);
      await waitFor(position, (p) => p === 1, 'AirlockQueuePosition 1');
      const text = renderStatus(s2);
      assert.match(text, /train {4}2 merged changes, judged and deployed together \(000000000000\.\.bbbbbbbbbbbb\)/);
      assert.match(
        text,
        new RegExp(`aaaaaaaaaaaa by airlock-agent\\[bot\\] — raise replicas \\(was ${first.workflowId}\\)`),
      );

      await abort(holder, 'make room');
      await holder.result();
      await feed(env, second, { stop: untilStage('awaiting_approval') });
      assert.equal(await position(), 0, 'granted: out of the queue');
      // carol authored a commit the train carries: she may not approve it.
      assert.match(
        await updateRefusal(
          second.executeUpdate(approveUpdate, { args: [await signedApproval(env, second, 'carol')] }),
        ),
        /carol/,
      );
      await second.executeUpdate(approveUpdate, { args: [await signedApproval(env, second, 'alice')] });
      await second.executeUpdate(approveUpdate, { args: [await signedApproval(env, second, 'bob')] });
      await feed(env, second, { stop: untilStage('ended') });
      const r2 = (await second.result()) as PromotionResult;
      assert.equal(r2.outcome, 'promoted');
      assert.deepEqual(
        r2.train?.map((t) => t.commit),
        [sha('a'), sha('b')],
      );
      assert.equal(rig.deployer.view('notification-service', 'production').stable?.version, 'v3');
      assert.ok(
        !rig.deployer.operations.some((o) => o.service === 'notification-service' && o.version === 'v2'),
        'the superseded change was never deployed on its own',
      );
    });
  });

  test('a merge while the service bakes does not touch the bake: it queues behind it (whileInFlight queue)', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const a = await rig.start({ commit: sha('c') });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const b = await rig.start({ commit: sha('d') });
      const sb = await waitFor(
        () => state(b),
        (s) => s.stage === 'queued' && s.queuePosition === 1,
        'b queued',
      );
      assert.equal(sb.train, undefined);
      const sa = await state(a);
      assert.equal(sa.stage, 'baking');
      assert.equal(sa.outcome, undefined);
      for (const h of [b, a]) {
        await abort(h, 'end of test');
        await h.result();
      }
    });
  });

  test('trains.coalesce: false: a second queued merge of the service queues behind the first', async () => {
    const rig = createRig(env, { policy: { extra: 'trains: { coalesce: false }' } });
    await rig.run(async () => {
      const holder = await rig.start({ service: 'search-service' });
      await feed(env, holder, { stop: untilStage('baking'), stepMinutes: 1 });
      const a = await rig.start({ commit: sha('e') });
      await waitFor(
        () => state(a),
        (s) => s.stage === 'queued',
        'a queued',
      );
      const b = await rig.start({ commit: sha('f') });
      await waitFor(
        () => state(b),
        (s) => s.stage === 'queued' && s.queuePosition === 2,
        'b queued behind a',
      );
      assert.equal((await state(a)).stage, 'queued');
      assert.equal((await state(b)).train, undefined);
      for (const h of [b, a, holder]) {
        await abort(h, 'end of test');
        await h.result();
      }
    });
  });
});
