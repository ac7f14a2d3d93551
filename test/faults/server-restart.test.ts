// Kill the Temporal dev server (SIGKILL) in the middle of a bake and start it again on the same
// SQLite file: the promotion is still there, the bake keeps its end time, ends no earlier than
// staging readiness + bake length, and is not started over (it resumes with its remaining time).
// The worker is the real one, in its own process, and rides out the outage.
import { afterAll, beforeAll, test } from 'vitest';
import { diagnostic } from '../helpers/diagnostic';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startPromotion } from '../../src/client/promotion-client';
import { stateQuery, type PromotionState } from '../../src/workflows/messages';
import { makeChange, testPolicyYaml } from '../helpers/harness';
import {
  writeWorkflowBundle,
  removeDir,
  sleep,
  spawnWorker,
  startDevServer,
  tempDir,
  waitFor,
  type DevServerProcess,
  type WorkerProcess,
} from './fault-rig';

const BAKE_S = 20;
const DOWN_MS = 4000;

let dir: string;
let server: DevServerProcess;
let client: Client;
let worker: WorkerProcess;
const taskQueue = `faults-${randomUUID()}`;

beforeAll(async () => {
  dir = tempDir('server-restart');
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    testPolicyYaml({
      bakeHours: BAKE_S / 3600,
      canaryMinutes: 0.05,
      productionWatchMinutes: 0.05,
      maxSilenceMinutes: 60,
      // The real worker runs without a clone, and these tests are about process and server faults,
      // not content: the opt-out from the fail-closed gate is explicit (docs/policy-engine.md).
      extra: 'checks: { allowUncheckedChanges: true }',
    }),
  );
  const [started, bundleFile] = await Promise.all([startDevServer(dir), writeWorkflowBundle(dir)]);
  server = started;
  client = await server.client();
  worker = spawnWorker(
    {
      TEMPORAL_ADDRESS: server.address,
      AIRLOCK_POLICY: policyFile,
      AIRLOCK_SIMULATION_STATE: join(dir, 'simulation.json'),
      AIRLOCK_TASK_QUEUE: taskQueue,
      AIRLOCK_WORKFLOW_BUNDLE: bundleFile,
    },
    join(dir, 'worker.log'),
  );
  await worker.ready;
});

afterAll(async () => {
  await worker?.kill('SIGKILL');
  await server?.close();
  removeDir(dir);
});

test(
  'dev server killed and restarted mid-bake (SQLite kept): the bake resumes with its remaining time',
  { timeout: 180_000 },
  async () => {
    const t0 = Date.now();
    const started = await startPromotion(client, makeChange(), { taskQueue, slotWorkflowId: `slot-${randomUUID()}` });
    const h = client.workflow.getHandle(started.workflowId);
    const baking = await waitFor(
      'baking',
      async () => {
        const s = await h.query(stateQuery);
        return s.stage === 'baking' ? s : undefined;
      },
      60_000,
    );
    const bakeMs = BAKE_S * 1000;
    diagnostic(`baking ${Date.now() - t0} ms after the start`);
    assert.equal(Date.parse(baking.bakeEndsAt!) - Date.parse(baking.stagingReadyAt!), bakeMs);

    await server.stop('SIGKILL');
    const killedAt = Date.now();
    assert.ok(
      Date.parse(baking.bakeEndsAt!) - killedAt > bakeMs / 2,
      'the server dies with more than half the bake left',
    );
    await sleep(DOWN_MS); // the outage itself: nothing to wait for, the server is down on purpose
    await server.start();
    const restartedAt = Date.now();

    // The promotion survived in the SQLite file, still baking, with the same end time.
    const resumed = await waitFor(
      'query after restart',
      async () => (await h.query(stateQuery)) as PromotionState,
      60_000,
      500,
    );
    diagnostic(
      `server down ${restartedAt - killedAt} ms; first query answered ${Date.now() - restartedAt} ms after the restart`,
    );
    assert.equal(resumed.stage, 'baking');
    assert.equal(resumed.stagingReadyAt, baking.stagingReadyAt);
    assert.equal(resumed.bakeEndsAt, baking.bakeEndsAt);
    // (state.bakeRemainingMs is computed at workflow time, i.e. as of the last workflow task, so it is
    // not a wall-clock countdown; the end time is what must survive.)
    assert.ok(Date.parse(baking.bakeEndsAt!) - restartedAt > 2000, 'the server is back with bake time left');

    const canary = await waitFor(
      'canary after the bake',
      async () => {
        const s = await h.query(stateQuery);
        return s.canaryStartedAt ? s : undefined;
      },
      120_000,
      500,
    );
    diagnostic(`bake ends ${baking.bakeEndsAt}, canary started ${canary.canaryStartedAt}`);
    assert.ok(
      Date.parse(canary.canaryStartedAt!) >= Date.parse(baking.bakeEndsAt!),
      'the bake ended no earlier than staging readiness + bake length',
    );

    diagnostic(`canary seen ${Date.now() - t0} ms after the start`);
    // Not started over: the bake timer fired at its original end, well before a full bake after the restart.
    const history = await h.fetchHistory();
    const fired = history.events!.find((e) => e.timerFiredEventAttributes);
    assert.ok(fired, 'a timer fired');
    const firedAt = Number(fired!.eventTime!.seconds) * 1000 + Math.floor((fired!.eventTime!.nanos ?? 0) / 1e6);
    assert.ok(
      firedAt >= Date.parse(baking.bakeEndsAt!) - 1000,
      `bake timer fired at ${new Date(firedAt).toISOString()}, bake ends ${baking.bakeEndsAt}`,
    );
    assert.ok(
      firedAt < restartedAt + bakeMs,
      `bake timer fired ${firedAt - restartedAt} ms after the restart: resumed, not restarted (a full bake would be ${bakeMs} ms)`,
    );
    assert.ok(worker.alive(), 'the worker process rode out the outage');
  },
);
