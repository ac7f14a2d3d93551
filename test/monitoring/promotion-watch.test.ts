// End to end on the Temporal dev server: a promotion whose policy names a real Prometheus, which
// scrapes a test exporter every second. The watch activity reads it for each window; a breach
// injected at the exporter rolls the promotion back with the evidence; a clean run is promoted.
import { afterAll, beforeAll, describe, test } from 'vitest';
import { diagnostic } from '../helpers/diagnostic';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { atRate, createRig, devServerEnv, sendSample, state, testPolicyYaml } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { version as sdkVersion } from '@temporalio/workflow/package.json';
import { parsePolicy } from '../../src/policy/config/load';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';
import { startTestExporter, type TestExporter } from './test-exporter';
import { startPrometheus, type PrometheusServer } from './prometheus-server';
import { waitForStage } from './wait-for-stage';
import { prometheusCountSettings } from './queries';

const SVC = 'notification-service';
const BAKE_SECONDS = 12;
/** increase() needs two 1 s scrapes in its window: a poll every 3 s. */
const INTERVAL_SECONDS = 3;
let env: TestWorkflowEnvironment;
let exporter: TestExporter;
let prom: PrometheusServer;

/**
 * Busy enough that each watch's sequential test can catch a doubling in its short window (a quieter
 * one is rolled back as too quiet to judge: rollback.onInsufficientEvidence).
 */
function healthyTraffic() {
  exporter.set({ service: SVC, environment: 'staging', version: 'v2', rps: 5000, errorRatio: 0.01 });
  exporter.set({ service: SVC, environment: 'production', version: 'v1', rps: 2000, errorRatio: 0.01 });
  exporter.set({ service: SVC, environment: 'production', version: 'v2', rps: 1000, errorRatio: 0.01 });
}

beforeAll(async () => {
  exporter = await startTestExporter();
  healthyTraffic();
  prom = await startPrometheus([exporter.target]);
  env = await devServerEnv();
  await prom.waitForScrapes(7); // the staging baseline is read from before readiness
});
afterAll(async () => {
  await env?.teardown();
  await prom?.stop();
  await exporter?.close();
});

/** The test policy (short bake, explicitly allowed) with a Prometheus count-query source polled every 3 s. */
function policyText(): string {
  const monitoring = {
    maxSilenceMinutes: 0.5,
    intervalSeconds: INTERVAL_SECONDS,
    prometheus: prometheusCountSettings(prom.url),
  };
  const text = testPolicyYaml({ bakeHours: BAKE_SECONDS / 3600, canaryMinutes: 0.15, productionWatchMinutes: 0.15 });
  assert.match(text, /allowShortBake: true/);
  return text.replace(/^monitoring: .*$/m, `monitoring: ${JSON.stringify(monitoring)}`);
}

function rig() {
  const text = policyText();
  return createRig(env, { deps: { loadPolicy: () => parsePolicy(text, 'prometheus-e2e-policy') } });
}

/**
 * With AIRLOCK_RECORD_MONITORING_HISTORY=1 the run is saved as a replay fixture (test/replay), so the
 * metrics-watch path is replayed against every later version of the workflow code.
 */
async function maybeRecord(name: string, h: WorkflowHandle) {
  if (process.env.AIRLOCK_RECORD_MONITORING_HISTORY !== '1') return;
  const history = await h.fetchHistory();
  const doc = {
    workflowId: h.workflowId,
    sdkVersion,
    recordedAt: new Date().toISOString(),
    history: JSON.parse(historyToJSON(history)),
  };
  // Beside, never over, the fixtures recorded with rate queries (promotions in flight before counts-only).
  writeFileSync(
    join(__dirname, '../replay/histories', `${name}.counts-only.json`),
    JSON.stringify(doc, null, 1) + '\n',
  );
}

type Event = temporal.api.history.v1.IHistoryEvent;
const activityName = (e: Event) => e.activityTaskScheduledEventAttributes?.activityType?.name;
const decode = (p: temporal.api.common.v1.IPayloads | null | undefined) =>
  JSON.parse(Buffer.from(p!.payloads![0].data!).toString('utf8'));

async function watchActivities(h: WorkflowHandle) {
  const events = (await h.fetchHistory()).events!;
  const scheduled = events.filter((e) => activityName(e) === 'watchErrorRate');
  return { events, scheduled, inputs: scheduled.map((e) => decode(e.activityTaskScheduledEventAttributes!.input)) };
}

describe('promotion watched through Prometheus (dev server, real Prometheus, test exporter)', () => {
  test('a breach injected at the exporter during the canary rolls back staging and production, with the evidence', async () => {
    healthyTraffic();
    const r = rig();
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'canary', 90_000);
      // The canary (v2) now fails 5 % of requests; the stable version (v1) stays at 1 %.
      exporter.set({ service: SVC, environment: 'production', version: 'v2', rps: 1000, errorRatio: 0.05 });
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'rolled_back', JSON.stringify(result.interruption));
      const i = result.interruption!;
      assert.equal(i.kind, 'breach');
      if (i.kind !== 'breach') return;
      assert.equal(i.sample.environment, 'production');
      // Counts of the breaching poll (its window may be only partly at 5 %), the stable version's beside them.
      assert.ok(i.sample.errors! > 0 && i.sample.rate > 0.0105 && i.sample.rate <= 0.06, `rate ${i.sample.rate}`);
      assert.ok(Math.abs(i.sample.baseline - 0.01) < 0.002, `baseline ${i.sample.baseline}`);
      assert.ok(i.risePercent > 5, `rise ${i.risePercent}`);
      assert.match(i.test ?? '', /likelihood ratio .* ≥ 1\/α/);
      assert.match(i.evidence!.source, /^prometheus http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(i.evidence!.recent.at(-1), i.sample);
      assert.ok(i.evidence!.polls >= 1);

      assert.deepEqual(r.deployer.view(SVC, 'production'), {
        stable: { version: 'initial', replicas: 4 },
        canary: null,
      });
      assert.deepEqual(r.deployer.view(SVC, 'staging'), { stable: { version: 'initial', replicas: 4 }, canary: null });
      const { inputs, events } = await watchActivities(h);
      assert.deepEqual(
        inputs.map((x) => [x.environment, x.target]),
        [
          ['staging', 'staging'],
          ['production', 'canary'],
        ],
      );
      assert.equal(
        events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'errorRate').length,
        0,
        'no errorRate signal was needed',
      );
      await maybeRecord('rolled-back-by-prometheus-watch', h);
    });
    healthyTraffic();
  });

  test('a clean run: each window watch returns at the window end; a window costs a handful of history events', async () => {
    healthyTraffic();
    const r = rig();
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'awaiting_approval', 90_000);
      for (const who of ['alice', 'bob'])
        await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, who)] });
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'promoted', JSON.stringify(result.interruption));
      const s = await state(h);
      assert.ok(s.errorRate.samples >= BAKE_SECONDS / INTERVAL_SECONDS, `samples ${s.errorRate.samples}`);
      assert.ok((s.errorRate.worstRisePercent ?? 0) < 5);
      // Each watch was judged on counts, and had the traffic to be.
      for (const w of ['staging', 'canary', 'production'] as const)
        assert.match(s.errorRate.tests?.[w] ?? '', /< 1\/α/, w);
      assert.equal(s.errorRate.insufficient, undefined);

      const { events, scheduled, inputs } = await watchActivities(h);
      assert.deepEqual(
        inputs.map((x) => x.target),
        ['staging', 'canary', 'canary', 'production', 'production'],
      );
      // Bake, canary and production windows end with the watch's own 'elapsed' verdict; the approval
      // wait's watch is cancelled when the second approval arrives, and the one that watches the
      // full rollout (promotion v2) when the rollout has ended.
      const outcomes = scheduled.map((sch) => {
        const done = events.find(
          (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === sch.eventId!.toString(),
        );
        return done ? decode(done.activityTaskCompletedEventAttributes!.result).outcome : 'cancelled';
      });
      assert.deepEqual(outcomes, ['elapsed', 'elapsed', 'cancelled', 'cancelled', 'elapsed']);

      // The bake window: every event after staging became ready until the next stage's first activity.
      const stagingReady = events.findIndex((e) => {
        const sch =
          e.activityTaskCompletedEventAttributes &&
          events.find(
            (x) => x.eventId!.toString() === e.activityTaskCompletedEventAttributes!.scheduledEventId!.toString(),
          );
        return sch && activityName(sch) === 'deployToEnvironment';
      });
      const nextStage = events.findIndex((e) => activityName(e) === 'deployWaitMs');
      const bakeEvents = events.slice(stagingReady + 1, nextStage);
      const bakeCompleted = events.find(
        (e) =>
          e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled[0].eventId!.toString(),
      )!;
      const bakePolls = decode(bakeCompleted.activityTaskCompletedEventAttributes!.result).evidence.polls as number;
      diagnostic(
        `bake window: ${bakeEvents.length} history events for ${bakePolls} polls; whole promotion: ${events.length} events`,
      );
      const kinds = bakeEvents.map((e) =>
        temporal.api.enums.v1.EventType[e.eventType!].replace('EVENT_TYPE_', '').toLowerCase(),
      );
      diagnostic(`bake window events: ${kinds.join(' ')}`);
      assert.ok(bakePolls >= BAKE_SECONDS / INTERVAL_SECONDS / 2, `polls ${bakePolls}`); // one each 3 s, fewer on a loaded machine
      assert.ok(bakeEvents.length <= 25, `bake window took ${bakeEvents.length} events`);
      await maybeRecord('promoted-with-prometheus-watch', h);
    });
  });

  test('errorRate signals keep working beside the watch: a signalled breach in the bake rolls back and cancels the watch', async () => {
    healthyTraffic();
    const r = rig();
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'baking');
      await sendSample(env, h, { environment: 'staging', ...atRate(0.5) });
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'rolled_back');
      assert.equal(result.interruption?.kind, 'breach');
      if (result.interruption?.kind === 'breach') {
        assert.equal(result.interruption.sample.rate, 0.5);
        assert.equal(result.interruption.evidence, undefined, 'the signal, not the watch, proved this breach');
      }
      const { events } = await watchActivities(h);
      assert.equal(
        events.filter((e) => e.activityTaskCancelRequestedEventAttributes).length,
        1,
        'the bake watch was cancelled',
      );
    });
  });

  test('a worker restart mid-bake: the retried watch resumes its evidence and silence clock from the last heartbeat', async () => {
    healthyTraffic();
    const text = policyText().replace(`minHours: ${BAKE_SECONDS / 3600}`, `minHours: ${20 / 3600}`);
    const r = createRig(env, { deps: { loadPolicy: () => parsePolicy(text, 'restart-policy') } });
    const h = await r.run(async () => {
      const handle = await r.start();
      await waitForStage(handle, 'baking');
      await new Promise((res) => setTimeout(res, 12_000));
      return handle;
    }); // the worker shuts down here: the watch attempt is cancelled with WORKER_SHUTDOWN
    const pending = (await h.describe()).raw.pendingActivities ?? [];
    const beat = pending[0]?.heartbeatDetails ? decode(pending[0].heartbeatDetails) : undefined;
    assert.ok(beat && beat.polls >= 2, `heartbeat before the restart: ${JSON.stringify(beat)}`);
    // A new worker on the same task queue picks up the retry.
    await r.run(() => waitForStage(h, 'canary', 60_000));
    const events = (await h.fetchHistory()).events!;
    const bakeWatch = events.find((e) => activityName(e) === 'watchErrorRate')!;
    const started = events.find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === bakeWatch.eventId!.toString(),
    )!;
    const completed = events.find(
      (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === bakeWatch.eventId!.toString(),
    )!;
    assert.ok(started.activityTaskStartedEventAttributes!.attempt! >= 2, 'the bake watch was retried');
    const evidence = decode(completed.activityTaskCompletedEventAttributes!.result).evidence;
    assert.ok(
      evidence.polls > beat.polls,
      `polls ${evidence.polls} went on from the ${beat.polls} of the first attempt`,
    );
    await h.terminate('test done: the bake was what this test watched');
  });

  test('a watch that cannot run fails at once and hands silence back to the workflow clock: fail closed', async () => {
    const text = policyText()
      .replace('"maxSilenceMinutes":0.5', '"maxSilenceMinutes":0.1')
      .replace(`minHours: ${BAKE_SECONDS / 3600}`, 'minHours: 0.01');
    const r = createRig(env, {
      deps: { loadPolicy: () => parsePolicy(text, 'no-source-policy'), metrics: () => undefined },
    });
    await r.run(async () => {
      const h = await r.start();
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'rolled_back');
      const i = result.interruption!;
      assert.equal(i.kind, 'silence', JSON.stringify(i));
      if (i.kind !== 'silence') return;
      assert.equal(i.environment, 'staging');
      assert.equal(i.evidence, undefined, 'judged by the workflow clock, not by a watch');
      const failed = (await h.fetchHistory()).events!.filter((e) => e.activityTaskFailedEventAttributes);
      assert.equal(failed.length, 1);
      assert.equal(
        failed[0].activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.type,
        'AirlockMetricsSourceUnavailable',
      );
    });
  });

  test('the exporter stops reporting the staging series during the bake: intervals without requests are no evidence, and silence rolls back', async () => {
    healthyTraffic();
    const r = rig();
    const text = policyText().replace('"maxSilenceMinutes":0.5', '"maxSilenceMinutes":0.1');
    const slow = parsePolicy(text.replace(`minHours: ${BAKE_SECONDS / 3600}`, 'minHours: 0.01'), 'silence-policy');
    r.deps.loadPolicy = () => slow;
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'baking');
      exporter.remove(SVC, 'staging', 'v2');
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'rolled_back');
      const i = result.interruption!;
      assert.equal(i.kind, 'silence', JSON.stringify(i));
      if (i.kind !== 'silence') return;
      assert.equal(i.environment, 'staging');
      assert.ok(i.silentMinutes >= 0.1);
      // The series gone, its count queries read no requests: never a healthy interval.
      assert.equal(i.evidence!.recent.at(-1)!.requests, 0, JSON.stringify(i.evidence));
      assert.ok(i.evidence!.inconclusive >= 1);
    });
    healthyTraffic();
  });
});
