// SIGKILL the real worker process (`src/worker/worker.ts`) in every stage of a promotion and restart it:
// each promotion ends exactly as it would have without the kills, nothing is deployed twice, and
// the blast-radius slot is released. Real dev server (SQLite), real worker, simulated deployer
// whose rollouts take ROLLOUT_MS so a kill lands mid-deploy; its operation log is the evidence.
//
// Two promotions run side by side on their own slots and share every kill:
//   A (notification-service, expected `promoted`): killed mid staging deploy, in the bake, mid
//     canary deploy, in the approval wait (after one approval), mid production rollout.
//   B (search-service, expected `rolled_back` on a canary breach): killed mid staging deploy, in the
//     bake, mid canary deploy, in the approval wait, and mid rollback (restore).
import { afterAll, beforeAll, describe, test } from 'vitest';
import { diagnostic } from '../helpers/diagnostic';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startPromotion } from '../../src/client/promotion-client';
import { signedRequest } from '../../src/approvals/signed-request';
import {
  approveUpdate,
  errorRateSignal,
  stateQuery,
  type PromotionResult,
  type PromotionState,
  type Stage,
} from '../../src/workflows/messages';
import { atRate, makeChange, slotWhenReleased, testPolicyYaml } from '../helpers/harness';
import { bindingOfPromotion, testSecretKey } from '../helpers/approver-keys';
import {
  readOperationLog,
  writeWorkflowBundle,
  removeDir,
  spawnWorker,
  startDevServer,
  stepOf,
  tempDir,
  waitFor,
  type DevServerProcess,
  type LoggedOperation,
  type WorkerProcess,
} from './fault-rig';

const ROLLOUT_MS = 3000;
/**
 * Longer than a worker restart after the bake kill, so the canaries start after the canary step
 * began watching: on CI the restart and the first query after it took 18 s (the dead worker's
 * sticky queue first times out), and a 15 s bake let both canary rollouts finish unseen.
 */
const BAKE_S = 60;
const CANARY_S = 5;
const WATCH_S = 4;
/** After a kill: heartbeat timeout (20 s) + first retry (5 s) + worker start, on a loaded machine. */
const RECOVERY_MS = 150_000;

let dir: string;
let server: DevServerProcess;
let client: Client;
let worker: WorkerProcess | undefined;
let workerStarts = 0;
const taskQueue = `faults-${randomUUID()}`;
const slotA = `slot-a-${randomUUID()}`;
const slotB = `slot-b-${randomUUID()}`;
let stateFile: string;
let policyFile: string;
let bundleFile: string;

function startWorker(): Promise<void> {
  worker = spawnWorker(
    {
      TEMPORAL_ADDRESS: server.address,
      AIRLOCK_POLICY: policyFile,
      AIRLOCK_SIMULATION_STATE: stateFile,
      AIRLOCK_TASK_QUEUE: taskQueue,
      AIRLOCK_SIMULATION_ROLLOUT_MS: String(ROLLOUT_MS),
      AIRLOCK_WORKFLOW_BUNDLE: bundleFile,
    },
    join(dir, `worker-${++workerStarts}.log`),
  );
  return worker.ready;
}

beforeAll(async () => {
  dir = tempDir('sigkill');
  stateFile = join(dir, 'simulation.json');
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    testPolicyYaml({
      bakeHours: BAKE_S / 3600,
      canaryMinutes: CANARY_S / 60,
      productionWatchMinutes: WATCH_S / 60,
      approvalTimeoutHours: 1,
      maxSilenceMinutes: 60,
      // The real worker runs without a clone, and these tests are about process and server faults,
      // not content: the opt-out from the fail-closed gate is explicit (docs/policy-engine.md).
      extra: 'checks: { allowUncheckedChanges: true }',
    }),
  );
  [server, bundleFile] = await Promise.all([startDevServer(dir), writeWorkflowBundle(dir)]);
  client = await server.client();
  await startWorker();
});

afterAll(async () => {
  await worker?.kill('SIGKILL');
  await server?.close();
  // The workers' own reports of failed workflow tasks: what a failed query ("Workflow Task in
  // failed state") or a stage never reached came from; the logs go with the directory.
  for (let n = 1; n <= workerStarts; n++) {
    const log = join(dir, `worker-${n}.log`);
    const failing = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => /Failing workflow task|TMPRL|deadlock/i.test(l))
      : [];
    if (failing.length)
      diagnostic(`worker ${n}: ${failing.length} failed workflow tasks, first: ${failing.slice(0, 3).join(' | ')}`);
  }
  removeDir(dir);
});

const stateOf = (h: WorkflowHandle) => h.query(stateQuery);

/** Steps of `service` that worker `pid` started and has not finished: a kill now lands mid-deploy. */
function inFlight(service: string, pid = worker!.pid): string[] {
  const open = new Map<string, number>();
  for (const o of readOperationLog(stateFile).filter((x) => x.service === service && x.pid === pid)) {
    open.set(stepOf(o), (open.get(stepOf(o)) ?? 0) + (o.phase === 'started' ? 1 : -1));
  }
  return [...open].filter(([, n]) => n > 0).map(([step]) => step);
}

async function waitStage(h: WorkflowHandle, stages: Stage[], timeoutMs = RECOVERY_MS): Promise<PromotionState> {
  return waitFor(
    `${h.workflowId} in ${stages.join('|')}`,
    async () => {
      const s = await stateOf(h);
      return stages.includes(s.stage) ? s : undefined;
    },
    timeoutMs,
    250,
  );
}

interface Kill {
  label: string;
  pid: number;
  stages: Record<string, Stage>;
  inFlight: Record<string, string[]>;
}
const kills: Kill[] = [];

/** Records where each promotion stands, SIGKILLs the worker, and starts a new one. */
async function killAndRestart(
  label: string,
  promotions: Record<string, { h: WorkflowHandle; service: string }>,
): Promise<Kill> {
  const entries = Object.entries(promotions);
  const states = await Promise.all(entries.map(([, p]) => stateOf(p.h)));
  const stages: Record<string, Stage> = Object.fromEntries(entries.map(([name], i) => [name, states[i].stage]));
  const pid = worker!.pid;
  const flight: Record<string, string[]> = {};
  await worker!.kill('SIGKILL');
  for (const [name, p] of Object.entries(promotions)) flight[name] = inFlight(p.service, pid);
  const k = { label, pid, stages, inFlight: flight };
  kills.push(k);
  await startWorker();
  return k;
}

type Name = 'A' | 'B';
type Promotions = Record<Name, { h: WorkflowHandle; service: string }>;

/**
 * SIGKILLs the worker while both promotions are mid a step (`mid`, given a promotion's in-flight
 * steps): once either is, it waits up to a third of a rollout for the other and kills; a promotion that
 * kill did not catch is waited for and killed alone. Returns the kills, each with whom it caught.
 */
async function killWhenMid(
  label: string,
  promotions: Promotions,
  firstWithinMs: number,
  mid: Record<Name, (steps: string[]) => boolean>,
): Promise<Array<Kill & { caught: Name[] }>> {
  const names = Object.keys(mid) as Name[];
  const midNow = (n: Name) => mid[n](inFlight(promotions[n].service));
  const count = (ns: Name[]) => ns.filter(midNow).length;
  await waitFor(`A or B mid ${label}`, () => (count(names) ? true : undefined), firstWithinMs, 50);
  await waitFor(
    `A and B mid ${label}`,
    () => (count(names) === names.length ? true : undefined),
    ROLLOUT_MS / 3,
    50,
  ).catch(() => undefined);
  const kills: Array<Kill & { caught: Name[] }> = [];
  for (;;) {
    const k = await killAndRestart(label, promotions);
    kills.push({ ...k, caught: names.filter((n) => mid[n](k.inFlight[n])) });
    const left = names.filter((n) => !kills.some((x) => x.caught.includes(n)));
    if (!left.length) return kills;
    await waitFor(`${left[0]} mid ${label}`, () => (midNow(left[0]) ? true : undefined), RECOVERY_MS, 50);
  }
}

async function approval(h: WorkflowHandle, approver: string) {
  const binding = await bindingOfPromotion(h); // as `airlock approve` reads it
  return signedRequest('approve', {
    ...(binding ? { binding } : {}),
    workflowId: h.workflowId,
    approver,
    secretKey: testSecretKey(approver),
    now: Date.now(),
  });
}

/**
 * "Nothing deployed twice": every deployer step reached `ready` exactly once, in the order of an
 * uninterrupted run; a step was *started* a second time only if a kill interrupted its first try
 * (that worker's pid started it and never finished it) — the retry re-applies the same version.
 */
function assertDeployedOnce(service: string, expected: string[]) {
  const log = readOperationLog(stateFile).filter((o) => o.service === service);
  const ready = log.filter((o) => o.phase === 'ready').map(stepOf);
  assert.deepEqual(ready, expected, `${service}: deployer steps that became ready, in order`);
  const killedPids = new Set(kills.map((k) => k.pid));
  for (const step of expected) {
    const starts = log.filter((o) => o.phase === 'started' && stepOf(o) === step);
    const interrupted = starts.filter(
      (s: LoggedOperation) =>
        killedPids.has(s.pid) && !log.some((r) => r.phase === 'ready' && r.pid === s.pid && stepOf(r) === step),
    );
    assert.equal(
      starts.length,
      1 + interrupted.length,
      `${service} ${step}: started ${starts.length}×, of which ${interrupted.length} interrupted by a kill`,
    );
    assert.ok(interrupted.length <= 1, `${service} ${step}: interrupted more than once`);
  }
}

/**
 * The whole sequence's bound: 480 s from the start of the promotions to the last step (under
 * node:test, the timeout of the parent test whose subtests the steps were). Every step races it,
 * so once it is spent the step running fails and the steps after it fail at once.
 */
const SEQUENCE_MS = 480_000;
let sequenceDeadline = Number.POSITIVE_INFINITY;
async function withinSequence<T>(what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: the sequence's ${SEQUENCE_MS / 1000} s are spent`)),
      Math.max(0, sequenceDeadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work(), spent]);
  } finally {
    clearTimeout(timer);
  }
}
/** One step of the sequence: run in order, sharing the promotions; a failed step does not stop the next. */
function step(name: string, fn: () => Promise<void>) {
  test(name, { timeout: SEQUENCE_MS }, () => withinSequence(name, fn));
}

describe('SIGKILL of the worker in every stage: same outcomes, nothing deployed twice, slots released', () => {
  const changeA = makeChange({ service: 'notification-service', version: 'v-a' });
  const changeB = makeChange({ service: 'search-service', version: 'v-b' });
  let a: WorkflowHandle;
  let b: WorkflowHandle;
  let both: Promotions;

  beforeAll(async () => {
    sequenceDeadline = Date.now() + SEQUENCE_MS;
    await withinSequence('start both promotions', async () => {
      a = client.workflow.getHandle(
        (await startPromotion(client, changeA, { taskQueue, slotWorkflowId: slotA })).workflowId,
      );
      b = client.workflow.getHandle(
        (await startPromotion(client, changeB, { taskQueue, slotWorkflowId: slotB })).workflowId,
      );
      both = { A: { h: a, service: changeA.service }, B: { h: b, service: changeB.service } };
    });
  });

  step('staging deploy: killed mid-rollout, the deploy is retried once and completes', async () => {
    await waitFor(
      'A and B mid staging deploy',
      () =>
        inFlight(changeA.service).includes('deploy:staging:v-a') &&
        inFlight(changeB.service).includes('deploy:staging:v-b')
          ? true
          : undefined,
      60_000,
      100,
    );
    const k = await killAndRestart('staging deploy', both);
    assert.deepEqual(k.stages, { A: 'staging', B: 'staging' });
    assert.deepEqual(k.inFlight, { A: ['deploy:staging:v-a'], B: ['deploy:staging:v-b'] });
    await waitStage(a, ['baking']);
    await waitStage(b, ['baking']);
  });

  let bakeEndsAt = '';
  step('bake: killed mid-bake, the bake keeps its end time and is not shortened', async () => {
    const s = await stateOf(a);
    assert.equal(s.stage, 'baking');
    bakeEndsAt = s.bakeEndsAt!;
    assert.ok(Date.parse(bakeEndsAt) - Date.now() > 2000, 'the kill lands with bake time left');
    const k = await killAndRestart('bake', both);
    assert.deepEqual(k.stages, { A: 'baking', B: 'baking' });
    const after = await stateOf(a);
    assert.equal(after.bakeEndsAt, bakeEndsAt, 'bake end unchanged by the restart');
  });

  step('canary: killed mid canary rollout, the canary is retried once and completes', async () => {
    const early = readOperationLog(stateFile).filter((o) => o.op === 'deployCanary' && o.phase === 'ready');
    assert.deepEqual(
      early.map((o) => o.service),
      [],
      `canary rollouts finished before this step could watch them (${Math.round((Date.now() - Date.parse(bakeEndsAt)) / 1000)} s after the bake): BAKE_S is shorter than the worker's restart here`,
    );
    // The bakes end when each staging deploy became ready, seconds apart: the canary rollouts need
    // not overlap, so one kill may catch only one of them (then a second kill catches the other).
    const caught = await killWhenMid('canary', both, RECOVERY_MS, {
      A: (steps) => steps.includes('deployCanary:production:v-a'),
      B: (steps) => steps.includes('deployCanary:production:v-b'),
    });
    for (const k of caught)
      for (const name of k.caught) assert.equal(k.stages[name], 'canary', `${name} at ${k.label}`);
    assert.deepEqual(caught.flatMap((k) => k.caught).sort(), ['A', 'B']);
    const s = await stateOf(a);
    assert.ok(Date.parse(s.canaryStartedAt ?? s.now) >= Date.parse(bakeEndsAt), 'canary only after the whole bake');
    await waitStage(a, ['awaiting_approval']);
    await waitStage(b, ['awaiting_approval']);
  });

  step('approval wait: an approval given before the kill survives it', async () => {
    await Promise.all([a, b].map(async (h) => h.executeUpdate(approveUpdate, { args: [await approval(h, 'alice')] })));
    const k = await killAndRestart('approval wait', both);
    assert.deepEqual(k.stages, { A: 'awaiting_approval', B: 'awaiting_approval' });
    const after = await Promise.all([a, b].map(stateOf));
    for (const s of after)
      assert.deepEqual(
        s.approvals.map((x) => x.approver),
        ['alice'],
      );
  });

  step('production rollout (A) and rollback (B): killed mid-rollout and mid-restore', async () => {
    const breach = {
      environment: 'production' as const,
      ...atRate(0.05), // five times the stable version's 1 %: breached on this one interval
      observedAt: new Date().toISOString(),
    };
    await Promise.all([
      a.executeUpdate(approveUpdate, { args: [await approval(a, 'bob')] }),
      b.signal(errorRateSignal, breach),
    ]);
    const caught = await killWhenMid('production rollout + rollback', both, 60_000, {
      A: (steps) => steps.includes('promote:production:v-a'),
      B: (steps) => steps.some((x) => x.startsWith('restore:')),
    });
    // A killed mid production rollout, B mid rollback: each caught by exactly one kill.
    assert.deepEqual(caught.flatMap((x) => x.caught).sort(), ['A', 'B']);
  });

  step('each promotion ends as it would have without the kills', async () => {
    const ra: PromotionResult = await a.result();
    const rb: PromotionResult = await b.result();
    assert.equal(ra.outcome, 'promoted');
    assert.deepEqual(
      ra.approvals.map((x) => x.approver),
      ['alice', 'bob'],
    );
    assert.equal(rb.outcome, 'rolled_back');
    assert.equal(rb.interruption?.kind, 'breach');
    const sa = await stateOf(a);
    const sb = await stateOf(b);
    assert.ok(Date.parse(sa.canaryStartedAt!) >= Date.parse(sa.bakeEndsAt!), 'A: canary only after the full bake');
    assert.equal(
      Date.parse(sa.bakeEndsAt!) - Date.parse(sa.stagingReadyAt!),
      BAKE_S * 1000,
      'A: bake length as the policy says',
    );
    assert.deepEqual(sb.rollback?.steps, ['restore production', 'restore staging']);
    assert.equal(sb.rollback?.error, undefined);
    assert.deepEqual(sb.deployed, []);

    // The same deployer steps, in the same order, as an uninterrupted run (test/workflows/promotion-paths).
    assertDeployedOnce(changeA.service, [
      'deploy:staging:v-a',
      'deployCanary:production:v-a',
      'promote:production:v-a',
    ]);
    assertDeployedOnce(changeB.service, [
      'deploy:staging:v-b',
      'deployCanary:production:v-b',
      'restore:production:initial',
      'restore:staging:initial',
    ]);
    const model = JSON.parse(readFileSync(stateFile, 'utf8'));
    assert.deepEqual(model['staging/notification-service'], { stable: { version: 'v-a', replicas: 4 }, canary: null });
    assert.deepEqual(model['production/notification-service'], {
      stable: { version: 'v-a', replicas: 4 },
      canary: null,
    });
    assert.deepEqual(model['staging/search-service'], { stable: { version: 'initial', replicas: 4 }, canary: null });
    assert.deepEqual(model['production/search-service'], { stable: { version: 'initial', replicas: 4 }, canary: null });
  });

  step('slots released: the next promotion on each slot acquires it', async () => {
    for (const slot of [slotA, slotB]) {
      const s = await slotWhenReleased(client, slot);
      assert.deepEqual(s.holders, [], `${slot} holds nobody`);
    }
    const next = await Promise.all([
      startPromotion(client, makeChange({ service: 'notification-service', version: 'v-next' }), {
        taskQueue,
        slotWorkflowId: slotA,
      }),
      startPromotion(client, makeChange({ service: 'search-service', version: 'v-next' }), {
        taskQueue,
        slotWorkflowId: slotB,
      }),
    ]);
    for (const n of next) await waitStage(client.workflow.getHandle(n.workflowId), ['staging', 'baking'], 60_000);
    for (const n of next) await client.workflow.getHandle(n.workflowId).terminate('fault test over');
  });

  afterAll(() => {
    diagnostic(
      `kills: ${kills.map((k) => `${k.label} [A ${k.stages.A}${k.inFlight.A.length ? ` mid ${k.inFlight.A}` : ''}; B ${k.stages.B}${k.inFlight.B.length ? ` mid ${k.inFlight.B}` : ''}]`).join(' · ')}`,
    );
  });
});
