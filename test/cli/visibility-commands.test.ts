// `airlock list`, `report` and `status --watch` on the dev server, over promotions that really
// ended promoted, rolled back in their canary, and blocked — with short, labelled durations.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { atRate, createRig, devServerEnv, feed, state, type PolicyOverrides } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { runCli } from '../../src/cli/main';
import { ExitCode } from '../../src/cli/errors';
import type { Scoreboard } from '../../src/cli/report';
import type { PromotionList } from '../../src/cli/list';
import { approveUpdate } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

// SHORT durations for the dev server (allowShortBake is set by the harness for bakes under 24 h).
const SHORT: PolicyOverrides = { bakeHours: 3 / 3600, canaryMinutes: 2 / 60, productionWatchMinutes: 2 / 60 };
const STEP = 0.3 / 60; // a sample every 0.3 s of real time

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), client: async () => env.client },
  };
}

async function visible(query: string, count: number) {
  for (let i = 0; i < 100; i++) {
    let n = 0;
    for await (const _ of env.client.workflow.list({ query })) n++;
    if (n >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`visibility never showed ${count} for ${query}`);
}

test('list, report and status --watch tell what really happened', async () => {
  const promotedRig = createRig(env, { policy: SHORT });
  const breachRig = createRig(env, { policy: SHORT });
  const blockedRig = createRig(env, {
    // Blocked at once: no rule waivable, so the dev server's real clock never waits for waivers.
    policy: { ...SHORT, extra: 'checks: { waivable: [] }' },
    deps: {
      checkChange: async () => [
        {
          rule: 'liveness-probe',
          level: 'block',
          file: 'k8s/production/notification-service/deployment.yaml',
          line: 12,
          message: 'failureThreshold 1',
        },
      ],
    },
  });

  // status --watch follows a promotion to its end; exit 0 only when promoted.
  const watched = cli();
  let promoted!: WorkflowHandle;
  await promotedRig.run(async () => {
    promoted = await promotedRig.start({ mergedAt: new Date(Date.now() - 3_600_000).toISOString() });
    const watching = runCli(['status', promoted.workflowId, '--watch', '--interval', '0.2'], watched.io);
    await feed(env, promoted, { stop: (s) => s.stage === 'awaiting_approval', stepMinutes: STEP, maxSteps: 400 });
    await promoted.executeUpdate(approveUpdate, { args: [await signedApproval(env, promoted, 'alice')] });
    await promoted.executeUpdate(approveUpdate, { args: [await signedApproval(env, promoted, 'bob')] });
    await feed(env, promoted, { stop: () => false, stepMinutes: STEP, maxSteps: 400 });
    assert.equal(await watching, ExitCode.Ok, watched.err.join('\n'));
  });
  const frames = watched.out.join('\n');
  assert.match(frames, /baking/);
  assert.match(frames, /short bake/i, 'a short bake is shown loudly');
  assert.match(frames, /promoted/);

  let rolledBack!: WorkflowHandle;
  await breachRig.run(async () => {
    rolledBack = await breachRig.start({ service: 'search-service' });
    await feed(env, rolledBack, {
      stop: (s) => s.stage === 'canary' && s.deployed.includes('production'),
      stepMinutes: STEP,
      maxSteps: 400,
    });
    await feed(env, rolledBack, {
      environment: 'production',
      counts: atRate(0.02), // twice the stable version's 1 %
      stop: () => false,
      stepMinutes: STEP,
      maxSteps: 50,
    });
    assert.equal((await state(rolledBack)).outcome, 'rolled_back');
    // Querying an ended promotion replays it on a worker: this one is still polling.
    const watchedBreach = cli();
    assert.equal(
      await runCli(['status', rolledBack.workflowId, '--watch'], watchedBreach.io),
      ExitCode.NotPromoted,
      watchedBreach.err.join('\n'),
    );
    assert.match(watchedBreach.out.join('\n'), /rolled_back/);
  });

  await blockedRig.run(async () => {
    const h = await blockedRig.start({ service: 'payment-service' });
    assert.equal((await h.result()).outcome, 'blocked');
  });

  await visible(`WorkflowType = 'promotion' AND ExecutionStatus != 'Running'`, 3);

  const listed = cli();
  assert.equal(await runCli(['--json', 'list'], listed.io), ExitCode.Ok, listed.err.join('\n'));
  const list = JSON.parse(listed.out.join('')) as PromotionList;
  assert.deepEqual(list.inFlight, []);
  const recent = Object.fromEntries(list.recent.map((r) => [r.service, r.outcome]));
  assert.deepEqual(recent, {
    'notification-service': 'promoted',
    'search-service': 'rolled_back',
    'payment-service': 'blocked',
  });

  const reported = cli();
  assert.equal(await runCli(['--json', 'report', '--since', '1d'], reported.io), ExitCode.Ok, reported.err.join('\n'));
  const board = JSON.parse(reported.out.join('')) as Scoreboard;
  assert.equal(board.started, 3);
  assert.equal(board.promoted, 1);
  assert.deepEqual(board.rolledBack, { total: 1, byStage: { canary: 1 } });
  assert.deepEqual(board.blocked, { total: 1, byRule: { 'liveness-probe': 1 } });
  assert.equal(board.userFacingRollbacks, 1);
  assert.equal(board.userFacingRollbackEveryDays, 1);
  // Merged an hour before the start; production a few seconds of short stages later.
  assert.ok(
    board.medianMergeToProductionHours! >= 1 && board.medianMergeToProductionHours! < 1.2,
    String(board.medianMergeToProductionHours),
  );

  const human = cli();
  assert.equal(await runCli(['report', '--since', '1d'], human.io), ExitCode.Ok);
  assert.match(human.out.join('\n'), /a user-facing rollback every 1 days/);
});
