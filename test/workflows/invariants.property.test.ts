// Property: whatever humans, agents, metrics and worker crashes do, production never receives the
// change without a clean gate, a full bake after staging was ready, a clean canary watch and two
// approvals by distinct, allowed, non-author humans. Checked against the server's own history.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { createActivities } from '../../src/activities';
import {
  createRig,
  sendSample,
  slotWhenReleased,
  state,
  timeSkippingEnv,
  workflowBundle,
  Worker,
  type Rig,
} from '../helpers/harness';
import { approveUpdate, type ApprovalRequest, type PromotionResult } from '../../src/workflows/messages';
import { signedRequest } from '../../src/approvals/signed-request';
import { verifyDecisionSignature } from '../../src/approvals/decision-signature';
import { testPublicKey, testSecretKey } from '../helpers/approver-keys';

let env: TestWorkflowEnvironment;
/**
 * For the result only, which comes once the stage is `ended` without any timer: env.client's
 * result() unlocks time skipping while it waits, so the server leapt to the next timer left (ten
 * years on, the default execution timeout of the still-running blast-radius workflow) at every run,
 * and a result that timed out would have left time skipping unlocked for the runs after it.
 */
let lockedClient: Client;
beforeAll(async () => {
  env = await timeSkippingEnv();
  lockedClient = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
});
afterAll(async () => {
  await env?.teardown();
});

const ALLOWED = ['alice', 'bob', 'carol'];
const PEOPLE = [...ALLOWED, 'airlock-agent[bot]', 'mallory', ''];
const HOUR = 3600_000;

type Command =
  | { t: 'feed'; minutes: number; silent: boolean }
  | { t: 'sample'; environment: 'staging' | 'production'; kind: 'breach' | 'healthy' | 'inconclusive' | 'stale' }
  | { t: 'approve'; who: string; via: 'update' | 'signal'; sig: Signing }
  | { t: 'reject'; who: string }
  | { t: 'abort'; who: string }
  | { t: 'restart' };

/** How the approval is signed: properly, not at all, with someone else's key, a replay of an earlier valid one, or long ago. */
type Signing = 'valid' | 'unsigned' | 'forged' | 'replayed' | 'stale';
const signing = fc.constantFrom<Signing>('valid', 'valid', 'valid', 'unsigned', 'forged', 'replayed', 'stale');
const who = fc.constantFrom(...PEOPLE);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('feed' as const),
      minutes: fc.integer({ min: 10, max: 30 * 60 }),
      silent: fc.integer({ min: 0, max: 11 }).map((n) => n === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('sample' as const),
      environment: fc.constantFrom('staging' as const, 'production' as const),
      kind: fc.constantFrom('breach' as const, 'healthy' as const, 'inconclusive' as const, 'stale' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('approve' as const),
      who,
      via: fc.constantFrom('update' as const, 'signal' as const),
      sig: signing,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reject' as const), who }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('abort' as const), who }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const) }) },
);

const SAMPLE = {
  breach: { rate: 0.02, baseline: 0.01, requestCount: 5000 },
  healthy: { rate: 0.01, baseline: 0.01, requestCount: 5000 },
  inconclusive: { rate: 0.5, baseline: 0.01, requestCount: 3 },
  stale: { rate: 0.5, baseline: 0.01, requestCount: 5000, observedAt: '2001-01-01T00:00:00Z' },
};

/**
 * A worker that can be killed and replaced mid-promotion (state survives only in Temporal).
 *
 * A worker that a restart will stop keeps no workflow cache, so it never asks for a sticky task
 * queue. The Java time-skipping server never moves a workflow task off the sticky queue of a worker
 * that has shut down (a real server does, on ShutdownWorker or after the sticky schedule-to-start
 * timeout; ResetStickyTaskQueue is unimplemented there): after a restart the next workflow task
 * waited on the dead queue forever, every query waited behind it (no deadline) and the outstanding
 * task kept time skipping locked, so env.sleep never returned either. Without a cache its tasks go
 * to the normal queue and are replayed from history by whichever worker is alive. The last worker
 * keeps the cache: replaying every task of an 80-hour promotion costs minutes on a busy machine.
 */
async function restartableWorker(rig: Rig, restarts: number) {
  let started = 0;
  const make = async () => {
    const w = await Worker.create({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue: rig.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(rig.deps),
      ...(started++ < restarts ? { maxCachedWorkflows: 0 } : {}),
    });
    return { w, running: w.run() };
  };
  let current = await step('worker create', make());
  return {
    async restart() {
      current.w.shutdown();
      await step('worker shutdown (restart)', current.running);
      current = await step('worker create (restart)', make());
    },
    async stop() {
      current.w.shutdown();
      await step('worker shutdown (end of run)', current.running);
    },
  };
}

const debug = process.env.AIRLOCK_PROPERTY_DEBUG
  ? (...a: unknown[]) => console.error(new Date().toISOString(), ...a)
  : () => {};

/** What the current run is doing, for the message of a step that never returns. */
const current: { commands: Command[]; h?: WorkflowHandle; slotWorkflowId?: string } = { commands: [] };

/** Races p against a timer; never waits on p again once the timer has fired. */
async function race<T>(ms: number, p: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<typeof TIMED_OUT>((res) => (timer = setTimeout(() => res(TIMED_OUT), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}
const TIMED_OUT = Symbol('timed out');

/** The run's commands, the promotion's own state and the server's view of it; each probe bounded. */
async function diagnosis(): Promise<string> {
  const probe = async (what: string, p: () => Promise<unknown>) => {
    const r = await race(
      5_000,
      p().catch((e) => `error: ${String(e)}`),
    );
    return `${what}=${r === TIMED_OUT ? 'no answer in 5 s' : JSON.stringify(r)?.slice(0, 1500)}`;
  };
  const h = current.h;
  const lines = [`commands=${JSON.stringify(current.commands)}`];
  if (h) {
    lines.push(await probe('state', () => state(h)));
    lines.push(
      await probe('describe', () =>
        h.describe().then((d) => ({
          status: d.status.name,
          pendingWorkflowTask: d.raw.pendingWorkflowTask,
          pendingActivities: d.raw.pendingActivities,
          historyLength: d.historyLength,
        })),
      ),
    );
    lines.push(
      await probe('lastEvents', () =>
        h
          .fetchHistory()
          .then((x) => (x.events ?? []).slice(-8).map((e) => `${e.eventId} ${e.eventType} ${e.eventTime?.seconds}`)),
      ),
    );
  }
  if (current.slotWorkflowId) {
    const slot = env.client.workflow.getHandle(current.slotWorkflowId);
    lines.push(
      await probe('slot', () =>
        slot.describe().then((d) => ({ status: d.status.name, pendingWorkflowTask: d.raw.pendingWorkflowTask })),
      ),
    );
  }
  lines.push(await probe('serverTime', () => env.currentTimeMs().then((t) => new Date(t).toISOString())));
  return lines.join('\n');
}

/** Every call to the server is bounded: one that hangs fails the run with what it was, the commands and the state. */
async function step<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  const r = await race(ms, p);
  const took = Date.now() - t0;
  if (took > 2_000) debug(`slow: ${what} took ${took} ms`);
  if (r === TIMED_OUT) {
    debug(`STUCK: ${what}`);
    throw new Error(`stuck for ${ms / 1000} s in ${what}\n${await diagnosis()}`);
  }
  return r;
}

/** Humans and metrics keep sending after the promotion ended; the server refuses, which is fine here. */
async function unlessEnded(p: Promise<unknown>): Promise<void> {
  await p.catch((err) => {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  });
}

async function feedFor(h: WorkflowHandle, minutes: number, silent: boolean) {
  for (let left = minutes; left > 0; left -= 20) {
    const s = await step('state query', state(h));
    if (s.stage === 'ended') return;
    if (!silent && s.deployed.length)
      await step(
        'errorRate signal (healthy)',
        unlessEnded(
          sendSample(env, h, {
            environment: s.deployed.includes('production') ? 'production' : 'staging',
            ...SAMPLE.healthy,
          }),
        ),
      );
    await step(`env.sleep ${Math.min(20, left)} minutes`, env.sleep(`${Math.min(20, left)} minutes`), 60_000);
  }
}

async function approval(
  h: WorkflowHandle,
  c: Extract<Command, { t: 'approve' }>,
  sent: ApprovalRequest[],
): Promise<unknown> {
  const now = await step('currentTimeMs', env.currentTimeMs());
  const sign = (key: string, at = now) =>
    signedRequest('approve', { workflowId: h.workflowId, approver: c.who, secretKey: testSecretKey(key), now: at });
  switch (c.sig) {
    case 'unsigned':
      return { approver: c.who };
    case 'forged':
      return sign('mallory');
    case 'stale':
      return sign(c.who, now - 30 * 60_000);
    case 'replayed':
      return sent.at(-1) ?? sign(c.who);
    case 'valid': {
      const req = sign(c.who);
      sent.push(req);
      return req;
    }
  }
}

async function apply(h: WorkflowHandle, c: Command, worker: { restart(): Promise<void> }, sent: ApprovalRequest[]) {
  debug('apply', JSON.stringify(c));
  switch (c.t) {
    case 'feed':
      return feedFor(h, c.minutes, c.silent);
    case 'sample':
      return step(
        `errorRate signal (${c.kind})`,
        unlessEnded(sendSample(env, h, { environment: c.environment, ...SAMPLE[c.kind] })),
      );
    case 'approve': {
      const req = await approval(h, c, sent);
      if (c.via === 'update')
        return void (await step(
          'approve update',
          h.executeUpdate(approveUpdate, { args: [req as ApprovalRequest] }).catch(() => undefined),
        ));
      return step('approve signal', unlessEnded(h.signal('approve', req)));
    }
    case 'reject':
      return step('reject signal', unlessEnded(h.signal('reject', { approver: c.who, reason: 'property test' })));
    case 'abort':
      return step('abort signal', unlessEnded(h.signal('abort', { by: c.who, reason: 'property test' })));
    case 'restart':
      return worker.restart();
  }
}

interface Ev {
  at: number;
  e: temporal.api.history.v1.IHistoryEvent;
}
const decode = (p?: temporal.api.common.v1.IPayloads | null): unknown[] =>
  (p?.payloads ?? []).map((x) => defaultPayloadConverter.fromPayload(x));

/** Reads the facts from the server's history, not from what the workflow says about itself. */
function facts(history: temporal.api.history.v1.IHistory, workflowId: string) {
  const events: Ev[] = (history.events ?? []).map((e) => ({
    at: Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6),
    e,
  }));
  const scheduled = new Map<string, string>();
  const completions: Array<{ type: string; at: number }> = [];
  const schedules: Array<{ type: string; at: number }> = [];
  const approvals: Array<{ who: string; at: number }> = [];
  const samples: Array<{ at: number; env: string; rate: number; count: number; observedAt: string }> = [];
  const usedSignatures = new Set<string>();
  // An approval is genuine only if the named person's own key signed it, for this workflow, within
  // ten minutes of when it arrived, and its signature was never seen before.
  const genuine = (raw: unknown, at: number) => {
    const r = raw as ApprovalRequest;
    const s = r.signature;
    if (!s || !ALLOWED.includes(r.approver) || usedSignatures.has(s.value)) return;
    const claim = {
      workflowId,
      action: 'approve' as const,
      approver: r.approver,
      via: r.via ?? 'cli',
      at: s.at,
      nonce: s.nonce,
      ...(r.comment ? { text: r.comment } : {}),
    };
    if (!verifyDecisionSignature(claim, s.value, testPublicKey(r.approver))) return;
    if (Math.abs(Date.parse(s.at) - at) > 10 * 60_000) return;
    usedSignatures.add(s.value);
    approvals.push({ who: r.approver, at });
  };
  for (const { at, e } of events) {
    const sch = e.activityTaskScheduledEventAttributes;
    if (sch) {
      scheduled.set(String(e.eventId), sch.activityType!.name!);
      schedules.push({ type: sch.activityType!.name!, at });
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) completions.push({ type: scheduled.get(String(done.scheduledEventId))!, at });
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName === 'approve') genuine(decode(sig.input)[0], at);
    if (sig?.signalName === 'errorRate') {
      const s = decode(sig.input)[0] as { environment: string; rate: number; requestCount: number; observedAt: string };
      samples.push({ at, env: s.environment, rate: s.rate, count: s.requestCount, observedAt: s.observedAt });
    }
    const upd = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (upd?.name === 'approve') genuine(decode(upd.args)[0], at);
  }
  return { schedules, completions, approvals, samples };
}

const RUNS = Number(process.env.AIRLOCK_PROPERTY_RUNS ?? 3);
// The workflows tier's 10 min per 3 runs (node:test had no bound): more runs, more time.
test(
  'property: production only after gate, full bake, clean canary and two distinct allowed non-author approvals',
  { timeout: Math.max(1, RUNS / 3) * 600_000 },
  async () => {
    await workflowBundle();
    const seed = process.env.AIRLOCK_PROPERTY_SEED
      ? Number(process.env.AIRLOCK_PROPERTY_SEED)
      : Date.now() ^ (Math.random() * 0x100000000);
    debug('seed', seed);
    const r = await fc.check(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (commands) => {
        const rig = createRig(env, { policy: { approvalTimeoutHours: 6 } });
        Object.assign(current, { commands, h: undefined, slotWorkflowId: rig.slotWorkflowId });
        debug('run', JSON.stringify(commands));
        const worker = await restartableWorker(rig, commands.filter((c) => c.t === 'restart').length);
        try {
          const h = (current.h = await step('start promotion', rig.start()));
          const sent: ApprovalRequest[] = [];
          for (const c of commands) await apply(h, c, worker, sent);
          debug('commands done');
          // Let it run to its end: time passes, metrics stay healthy, no further approvals. A promotion
          // still running after 80 hours (bake 24 h + canary + 6 h approval timeout + watch) never ends.
          for (let i = 0; i < 40 && (await step('state query', state(h))).stage !== 'ended'; i++)
            await feedFor(h, 120, false);
          if ((await step('state query', state(h))).stage !== 'ended')
            throw new Error(`promotion still running after 80 h of server time\n${await diagnosis()}`);
          debug('ended');
          const result: PromotionResult = await step(
            'promotion result',
            lockedClient.workflow.getHandle(h.workflowId).result(),
          );
          const f = facts(await step('fetch history', h.fetchHistory()), h.workflowId);
          const at = (list: Array<{ type: string; at: number }>, type: string) => list.find((x) => x.type === type)?.at;
          const promoteAt = at(f.schedules, 'promoteCanary');
          const canaryAt = at(f.schedules, 'deployCanary');
          const stagingReady = at(f.completions, 'deployToEnvironment');
          if (canaryAt !== undefined) {
            assert.ok(
              stagingReady !== undefined && canaryAt - stagingReady >= 24 * HOUR,
              'canary before a full 24 h bake from staging readiness',
            );
          }
          if (promoteAt !== undefined) {
            const canaryReady = at(f.completions, 'deployCanary')!;
            assert.ok(promoteAt - canaryReady >= 30 * 60_000, 'production before the full canary watch');
            const valid = new Set(
              f.approvals
                .filter((a) => ALLOWED.includes(a.who) && a.at >= canaryReady + 30 * 60_000 && a.at <= promoteAt)
                .map((a) => a.who),
            );
            assert.ok(valid.size >= 2, `production with ${valid.size} valid distinct approvals`);
            const breached = f.samples.some(
              (s) =>
                s.at >= stagingReady! &&
                s.at <= promoteAt &&
                s.count >= 100 &&
                s.rate > 0.0105 &&
                s.observedAt > '2002',
            );
            assert.ok(!breached, 'production after a breach');
            assert.ok(
              !f.schedules.some((s) => s.type === 'restoreEnvironment' && s.at < promoteAt),
              'production after a rollback began',
            );
          }
          if (result.outcome !== 'promoted') {
            assert.equal(rig.deployer.view('notification-service', 'production').stable?.version, 'initial');
            assert.equal(rig.deployer.view('notification-service', 'production').canary, null);
            assert.equal(rig.deployer.view('notification-service', 'staging').stable?.version, 'initial');
          }
          if (result.approvals.some((a) => !ALLOWED.includes(a.approver)))
            assert.fail('a non-allowed approval was counted');
          const counted = result.approvals.map((a) => a.approver);
          assert.equal(new Set(counted).size, counted.length, 'one person counted twice');
          for (const a of counted)
            assert.ok(
              f.approvals.some((g) => g.who === a),
              `${a}'s approval counted without a genuine signed request in history`,
            );
          const slot = await step('slot query', slotWhenReleased(env.client, rig.slotWorkflowId));
          assert.deepEqual(slot.holders, [], 'slot not released');
        } finally {
          debug('stopping worker');
          await worker.stop();
          debug('stopped');
        }
      }),
      // 3 runs keep the file within about 3 minutes on a busy 2-core machine: a run takes 5-20 s, but
      // one with restarts replays every task until its last restart and can take two minutes.
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    // The counterexample and the assertion that broke, in full, not just "property failed".
    if (r.failed)
      assert.fail(
        `seed ${r.seed}: ${JSON.stringify(r.counterexample)}\n${String((r.errorInstance as Error)?.stack ?? r.errorInstance)}`,
      );
  },
);
