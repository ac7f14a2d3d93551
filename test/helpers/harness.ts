// Shared test harness: real Temporal servers, the real worker and activities, a simulated deployer.
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  Runtime,
  DefaultLogger,
  GracefulShutdownPeriodExpiredError,
  bundleWorkflowCode,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { msToTs } from '@temporalio/common/lib/time';
import { Client, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Activities, ActivityDeps } from '../../src/activities';
import {
  createSimulatedDeployer,
  type SimulatedDeployer,
  type SimulatedDeployerOptions,
} from '../../src/integrations/simulation/simulated-deployer';
import type { Reporter } from '../../src/integrations/reporter';
import type { Deployer } from '../../src/integrations/deployer';
import { parsePolicy } from '../../src/policy/config/load';
import { startPromotion } from '../../src/client/promotion-client';
import { createAirlockWorker, WORKFLOWS_PATH } from '../../src/worker/worker';
import type {
  Change,
  Environment,
  PromotionResult,
  PromotionState,
  SlotState,
  Stage,
} from '../../src/workflows/messages';
import { slotStateQuery, stateQuery } from '../../src/workflows/messages';
import { AIRLOCK_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { serverExecutable } from './tools';
import { diagnostic } from './diagnostic';
import { testPublicKey } from './approver-keys';
import { registerSearchAttributes } from '../../src/client/search-attribute-setup';
import { Worker } from '@temporalio/worker';

/**
 * The watchdog on a rig's test body: a stuck test fails saying what each open workflow waits for.
 * Not a speed bound: the tier sets it half a minute under its own timeout (vitest.config.mts). At
 * a fixed 180 s it fired on CI's cores, loaded by the Kubernetes build, in a test that takes 50 s
 * alone (two continue-as-new floods); the history it printed showed a test still going, not stuck.
 */
const RUN_LIMIT_MS = Number(process.env.AIRLOCK_RIG_LIMIT_MS) || 180_000;
/**
 * A query has no deadline of its own. Under load the time-skipping server now and then never
 * answers one: seen in the fault matrix's restore-retry cases, right after the worker logged
 * "leftover buffered tasks when evicting run" (the query was buffered with the evicted run), and
 * the test hung past its 600 s timeout with nothing said. Each query gets a deadline and is asked
 * again, said aloud (in 6 loops of the matrix under load: lost twice, answered at once when asked
 * again); the third loss fails the test, naming it.
 */
const QUERY_DEADLINE_MS = 15_000;
const queryDeadline = () => Date.now() + QUERY_DEADLINE_MS;
const QUERY_ATTEMPTS = 3;

async function answered<T>(
  client: { withDeadline<R>(d: number, fn: () => Promise<R>): Promise<R> },
  what: string,
  ask: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.withDeadline(queryDeadline(), ask);
    } catch (err) {
      const lost = (err as { cause?: { code?: number } }).cause?.code === 4 || /DEADLINE_EXCEEDED/.test(String(err));
      if (!lost || attempt >= QUERY_ATTEMPTS) throw err;
      process.stderr.write(
        `harness: ${what} unanswered after ${QUERY_DEADLINE_MS / 1000} s (attempt ${attempt}); asking again\n`,
      );
    }
  }
}
let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger(process.env.CORE_LOG ? 'DEBUG' : 'WARN'),
    telemetryOptions: {
      logging: { filter: process.env.CORE_LOG ?? 'temporal_sdk_core=WARN,temporalio_sdk_core=WARN', forward: {} },
    },
  } as never);
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const executable = serverExecutable('temporal-test-server');
  const env = await TestWorkflowEnvironment.createTimeSkipping(executable ? { server: { executable } } : {});
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/**
 * Works around sdk-java#1138: the time-skipping test server never releases the time-skipping lock
 * it holds for an activity that was still open when its workflow ended (here: terminated
 * mid-deploy), so from then on its clock only runs at wall-clock speed. Releases one lock per
 * activity the ended workflow's history leaves open. Returns how many. (A lock it cannot see, such
 * as a workflow task in flight at the terminate, is not released: timers after it then run at
 * wall-clock speed, e.g. the compensation's one-minute settle wait takes a real minute.)
 */
export async function releaseTimeLocksOfEnded(env: TestWorkflowEnvironment, h: WorkflowHandle): Promise<number> {
  const open = new Set<string>();
  for (const e of (await h.fetchHistory()).events ?? []) {
    if (e.activityTaskScheduledEventAttributes) open.add(String(e.eventId));
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (closed) open.delete(String(closed.scheduledEventId));
  }
  const testService = env.connection.testService;
  if (!testService) throw new Error('releaseTimeLocksOfEnded: not a time-skipping test environment');
  for (let i = 0; i < open.size; i++) await testService.unlockTimeSkipping({});
  return open.size;
}

export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const executable = serverExecutable('temporal');
  return TestWorkflowEnvironment.createLocal({
    server: { ...(executable ? { executable } : {}), searchAttributes: AIRLOCK_SEARCH_ATTRIBUTES },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface PolicyOverrides {
  bakeHours?: number;
  canaryMinutes?: number;
  productionWatchMinutes?: number;
  approvalTimeoutHours?: number;
  maxSilenceMinutes?: number;
  maxServicesInFlight?: number;
  maxStartsPerHour?: number;
  blastRadiusScope?: 'promotion' | 'production';
  onInsufficientEvidence?: 'rollback' | 'hold';
  /** Replaces the services list (YAML list items, indented two spaces). */
  services?: string;
  extra?: string;
}

export function testPolicyYaml(o: PolicyOverrides = {}): string {
  const bake = o.bakeHours ?? 24;
  return `version: 1
authors:
  agents: ["airlock-agent[bot]"]
approvers:
  required: 2
  allowed:
    - { id: alice, slack: U0ALICE01, publicKey: "${testPublicKey('alice')}" }
    - { id: bob, slack: U0BOB0001, publicKey: "${testPublicKey('bob')}" }
    - { id: carol, publicKey: "${testPublicKey('carol')}" }
bake: { minHours: ${bake}${bake < 24 ? ', allowShortBake: true' : ''} }
canary: { percent: 10, minMinutes: ${o.canaryMinutes ?? 30} }
production: { watchMinutes: ${o.productionWatchMinutes ?? 30} }
approval: { timeoutHours: ${o.approvalTimeoutHours ?? 72} }
rollback: { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001${o.onInsufficientEvidence ? `, onInsufficientEvidence: ${o.onInsufficientEvidence}` : ''} }
monitoring: { maxSilenceMinutes: ${o.maxSilenceMinutes ?? 60} }
blastRadius: { maxServicesInFlight: ${o.maxServicesInFlight ?? 1}, maxStartsPerHour: ${o.maxStartsPerHour ?? 5}${o.blastRadiusScope ? `, scope: ${o.blastRadiusScope}` : ''} }
services:
${
  o.services ??
  `  - { name: notification-service, paths: ["k8s/*/notification-service/**"] }
  - { name: search-service, paths: ["k8s/*/search-service/**"] }
  - { name: payment-service, paths: ["k8s/*/payment-service/**"] }`
}
${o.extra ?? ''}`;
}

export interface Rig {
  env: TestWorkflowEnvironment;
  deployer: SimulatedDeployer;
  deps: ActivityDeps;
  taskQueue: string;
  slotWorkflowId: string;
  reports: PromotionState[];
  /** The rig's client: env.client, or one with the rig's data converter (opts.dataConverter). */
  client: Client;
  /** Runs fn while a worker polls this rig's task queue. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** `historyLimit`: events after which a run continues as new (PromotionInput.historyLimit). */
  start(change?: Partial<Change>, opts?: { historyLimit?: number }): Promise<WorkflowHandle>;
}

export function createRig(
  env: TestWorkflowEnvironment,
  opts: {
    policy?: PolicyOverrides;
    deployer?: SimulatedDeployerOptions;
    /** Fault injection around the simulated deployer (rig.deployer stays the model tests inspect). */
    wrapDeployer?: (d: SimulatedDeployer) => Deployer;
    deps?: Partial<ActivityDeps>;
    /** Fault injection at the activity layer: wraps the real activities before the worker gets them. */
    wrapActivities?: (activities: Activities) => Activities;
    /** The payload codec (src/codec) for the worker, its activities' client and rig.client. */
    dataConverter?: DataConverter;
  } = {},
): Rig {
  const deployer = createSimulatedDeployer(opts.deployer);
  const reports: PromotionState[] = [];
  const recorder: Reporter = { name: 'test', report: async (s) => void reports.push(s) };
  const policyText = testPolicyYaml(opts.policy);
  const client = opts.dataConverter
    ? new Client({
        connection: env.connection,
        namespace: env.namespace ?? 'default',
        dataConverter: opts.dataConverter,
      })
    : env.client;
  const deps: ActivityDeps = {
    deployer: opts.wrapDeployer?.(deployer) ?? deployer,
    loadPolicy: () => parsePolicy(policyText, 'test-policy'),
    checkChange: async () => [],
    deployWindow: () => ({ waitMs: 0 }),
    temporal: client,
    reporters: [recorder],
    ...opts.deps,
  };
  const taskQueue = `tq-${randomUUID()}`;
  const slotWorkflowId = `slot-${randomUUID()}`;
  const rig: Rig = {
    env,
    deployer,
    deps,
    taskQueue,
    slotWorkflowId,
    reports,
    client,
    async run(fn) {
      const worker = await createAirlockWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        deps,
        workflowBundle: await workflowBundle(),
        ...(opts.wrapActivities ? { wrapActivities: opts.wrapActivities } : {}),
        // A worker whose run the time-skipping server left with a lost workflow task never finished
        // shutting down (the suite then hung to its 600 s timeout): give up after 30 s, loudly.
        shutdownForceTime: '30 seconds',
        ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
      });
      // A stuck test fails with a reason instead of hanging the suite.
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void openWorkflows(env).then((open) =>
            reject(new Error(`rig.run: test body still running after ${RUN_LIMIT_MS / 1000} s; open: ${open}`)),
          );
        }, RUN_LIMIT_MS);
      });
      let passed: { value: Awaited<ReturnType<typeof fn>>; at: number } | undefined;
      try {
        return await worker.runUntil(async () => {
          try {
            const value = await Promise.race([fn(), limit]);
            passed = { value, at: Date.now() };
            return value;
          } finally {
            await slotSettled(env, slotWorkflowId);
            await retireIdleSlot(env, slotWorkflowId, client);
          }
        });
      } catch (err) {
        if (!passed || !isWorkerShutdownFault(err)) throw err;
        // Every assertion passed; only the worker's own teardown did not finish (below). Said loudly
        // on stderr (vitest prints it under the test's name), not failed: the promotion under test is not the worker.
        console.error(
          `rig.run: WARNING: the test passed, but its worker (task queue ${taskQueue}) did not shut down ` +
            `cleanly ${Date.now() - passed.at} ms after the test body: ${String(err)}; open: ${await openWorkflows(env)}`,
        );
        return passed.value;
      } finally {
        clearTimeout(timer);
      }
    },
    async start(change = {}, opts = {}) {
      const c = makeChange(change);
      const started = await startPromotion(client, c, { taskQueue, slotWorkflowId, ...opts });
      return client.workflow.getHandle(started.workflowId);
    },
  };
  return rig;
}

/**
 * A worker shutdown that did not finish: GracefulShutdownPeriodExpiredError after shutdownForceTime,
 * or the native finalize that follows it refusing because a call still holds the worker ("Worker
 * still in use: Expected 1 reference, but got 2"). Reproduced with an activity that ignores its
 * cancellation; the one seen on CI came from unbound queries (src/activities/attempt-bound.ts).
 */
function isWorkerShutdownFault(err: unknown): boolean {
  if (err instanceof GracefulShutdownPeriodExpiredError) return true;
  return err instanceof Error && err.name === 'IllegalStateError' && /Worker still in use/.test(err.message);
}

/** Every open workflow of the server with what it waits for: why time may not be skipping. */
async function openWorkflows(env: TestWorkflowEnvironment): Promise<string> {
  try {
    return await env.client.withDeadline(queryDeadline(), () => listOpen(env));
  } catch (err) {
    return `(listing failed: ${String(err)})`;
  }
}

async function listOpen(env: TestWorkflowEnvironment): Promise<string> {
  const page = await env.client.workflowService.listOpenWorkflowExecutions({
    namespace: env.namespace ?? 'default',
    maximumPageSize: 200,
    startTimeFilter: { earliestTime: msToTs(0), latestTime: msToTs(Date.now() + 365 * 86_400_000) },
  });
  const lines = await Promise.all(
    (page.executions ?? []).map(async (e) => {
      const { raw } = await env.client.workflow.getHandle(e.execution!.workflowId!).describe();
      const acts = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name}#${a.attempt}`);
      const h = env.client.workflow.getHandle(e.execution!.workflowId!);
      const events = ((await h.fetchHistory()).events ?? []).slice(-16);
      const tail = events.map((ev) =>
        [
          ev.eventType,
          ev.activityTaskScheduledEventAttributes?.activityType?.name,
          ev.workflowExecutionSignaledEventAttributes?.signalName,
        ]
          .filter(Boolean)
          .join(':'),
      );
      return `${e.execution!.workflowId} [${acts.join(',')}]${raw.pendingWorkflowTask ? ' +task' : ''} tail ${tail.join(' ')}`;
    }),
  );
  return lines.join('; ') || '(none)';
}

/**
 * Waits until the rig's slot workflow is idle (no workflow task, no activity outstanding) before
 * the worker stops: the time-skipping server does not skip time while an activity is scheduled, so
 * one left behind (a release being confirmed) would freeze time for every later test sharing the
 * server. Terminating the slot workflow instead does not help: the server keeps the lock.
 */
async function slotSettled(env: TestWorkflowEnvironment, slotWorkflowId: string): Promise<void> {
  let idle = 0;
  for (let i = 0; i < 400 && idle < 3; i++) {
    try {
      const { raw } = await env.client.withDeadline(queryDeadline(), () =>
        env.client.workflow.getHandle(slotWorkflowId).describe(),
      );
      idle = raw.pendingActivities?.length || raw.pendingWorkflowTask ? 0 : idle + 1;
    } catch {
      return; // never created
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Ends the rig's slot workflow once nobody holds or waits for it, while its worker still runs. An
 * idle slot workflow wakes daily (blast-radius.ts); on a shared time-skipping server a later test's
 * skipped day would fire that timer on a task queue no worker polls any more, and the task left
 * waiting there keeps the server's time from skipping for every other workflow.
 */
export async function retireIdleSlot(
  env: TestWorkflowEnvironment,
  slotWorkflowId: string,
  client: Client = env.client,
): Promise<void> {
  const slot = client.workflow.getHandle(slotWorkflowId);
  try {
    const s = await answered(slot.client, 'slot query', () => slot.query(slotStateQuery));
    if (s.holders.length || s.queue.length) return;
    await slot.terminate('test over: the idle slot workflow would wake on a queue no worker polls');
  } catch {
    // never created, or already ended
  }
}

/**
 * The slot's state once no promotion holds it. A slot workflow confirms each release with the
 * promotion (has it ended?) before it frees the slot, so the release lands a moment after the end.
 * Given a time-skipping environment, once `timeoutMs` has passed, simulated time moves a minute
 * after each further 2 s still held (up to 15): a confirmation that failed, or whose query to the
 * promotion was lost (it then waits for its 1-minute timeout), is asked again a simulated minute
 * later (blast-radius.ts). CI once saw the slot still held 20 s after the promotion's result.
 */
export async function slotWhenReleased(
  source: Client | TestWorkflowEnvironment,
  slotWorkflowId: string,
  timeoutMs = 20_000,
): Promise<SlotState> {
  const skipping = source instanceof TestWorkflowEnvironment && source.supportsTimeSkipping ? source : undefined;
  const client = source instanceof TestWorkflowEnvironment ? source.client : source;
  const query = () =>
    answered(client, 'slot query', () => client.workflow.getHandle(slotWorkflowId).query(slotStateQuery));
  for (let minutes = 0; ; minutes++) {
    const deadline = Date.now() + (minutes ? 2_000 : timeoutMs);
    let s = await query();
    while (s.holders.length && Date.now() <= deadline) {
      await new Promise((r) => setTimeout(r, 50));
      s = await query();
    }
    if (!s.holders.length || !skipping || minutes >= 15) return s;
    if (!minutes) diagnostic(`slot still held after ${timeoutMs} ms; simulated time moves on: ${JSON.stringify(s)}`);
    await skipping.sleep('1 minute');
  }
}

export function makeChange(c: Partial<Change> = {}): Change {
  return {
    service: 'notification-service',
    commit: randomUUID().replace(/-/g, '').padEnd(40, '0').slice(0, 40),
    author: 'airlock-agent[bot]',
    version: 'v2',
    ...c,
  };
}

/**
 * Feeds healthy samples until the promotion ends, asserts it was promoted, and returns who approved
 * it and how each identity was established ([approver, attribution]), for the caller to assert.
 */
export async function promotedApprovals(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
): Promise<Array<[string, string | undefined]>> {
  await feed(env, h, { stop: () => false });
  const r = (await h.result()) as PromotionResult;
  assert.equal(r.outcome, 'promoted');
  return (await state(h)).approvals.map((a) => [a.approver, a.attribution]);
}

export async function state(h: WorkflowHandle): Promise<PromotionState> {
  return answered(h.client, `state query of ${h.workflowId}`, () => h.query(stateQuery));
}

/** One interval's counts for the new version and its baseline (docs/monitoring.md). */
export interface SampleCounts {
  errors: number;
  requests: number;
  baselineErrors: number;
  baselineRequests: number;
}

/**
 * A healthy interval: 1 % errors in 10,000 requests beside a baseline at the same 1 % over ten times
 * the traffic (the stable version beside a 10 % canary; 100,000 requests before the deploy). One
 * such interval is traffic enough to judge any watch (rollback.onInsufficientEvidence), and the
 * baseline is thick enough that a pre-deploy test's bound on it stays close (+10 %), so a run fed
 * with it is promoted and a gross regression is caught at once.
 */
export const HEALTHY: SampleCounts = {
  errors: 100,
  requests: 10_000,
  baselineErrors: 1_000,
  baselineRequests: 100_000,
};

/**
 * The new version at error rate `rate` over `requests` (default HEALTHY's 10,000), beside HEALTHY's
 * 1 % baseline. A gross regression (atRate(0.05): 5×) breaches every watch on its first interval.
 */
export const atRate = (rate: number, requests = HEALTHY.requests): SampleCounts => ({
  ...HEALTHY,
  errors: Math.round(rate * requests),
  requests,
});

/** An interval without requests: no evidence (it neither breaches nor resets the silence clock). */
export const NO_TRAFFIC: SampleCounts = { errors: 0, requests: 0, baselineErrors: 0, baselineRequests: 0 };

/** Skips server time in steps, sending a sample each step (HEALTHY unless `counts`), until `stop(state)` holds. */
export async function feed(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  o: {
    environment?: Environment | 'auto';
    counts?: SampleCounts;
    /** The samples' `source` (monitoring.signalSources decides whether it is trusted). */
    source?: string;
    stepMinutes?: number;
    stop: (s: PromotionState) => boolean;
    maxSteps?: number;
  },
): Promise<PromotionState> {
  for (let i = 0; i < (o.maxSteps ?? 500); i++) {
    const s = await state(h);
    if (o.stop(s) || s.stage === 'ended') return s;
    const environment: Environment =
      o.environment && o.environment !== 'auto'
        ? o.environment
        : s.deployed.includes('production')
          ? 'production'
          : 'staging';
    if (s.deployed.length)
      await sendSample(env, h, { environment, ...(o.counts ?? HEALTHY), ...(o.source ? { source: o.source } : {}) });
    await env.sleep(`${o.stepMinutes ?? 20} minutes`);
  }
  throw new Error('feed: stop condition never held');
}

/** One sample with counts, observed now (server time) unless `observedAt`. */
export async function sendSample(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  s: { environment: Environment; observedAt?: string; source?: string } & SampleCounts,
): Promise<void> {
  const observedAt = s.observedAt ?? new Date(await env.currentTimeMs()).toISOString();
  await h.signal('errorRate', { ...s, observedAt });
}

export const untilStage = (stage: Stage) => (s: PromotionState) => s.stage === stage;

/** Polls `fn` (real time, no time skipped) until `ok` holds; fails saying what it waited for. */
export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(await fn()).slice(0, 600)}`);
}
export { Worker };

/** The message of an update's refusal (its validator's or handler's error); fails if it was accepted. */
export async function updateRefusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  return String((err.cause as Error).message);
}
