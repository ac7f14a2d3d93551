// End to end on the Temporal dev server with a real Prometheus scraping Poisson-noisy counters: the
// watch activity counts errors and requests per poll ({{window}}) and the sequential breach test
// judges them. A healthy version at 1 % (noisy samples, many of them more than 5 % above their
// baseline) is promoted; a canary at 2 % beside a stable 1 % is rolled back with the statistic.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, devServerEnv, state, testPolicyYaml } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { parsePolicy } from '../../src/policy/config/load';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';
import { startTestExporter, type TestExporter } from './test-exporter';
import { startPrometheus, type PrometheusServer } from './prometheus-server';
import { waitForStage } from './wait-for-stage';
import { prometheusCountSettings } from './queries';

const SVC = 'notification-service';
let env: TestWorkflowEnvironment;
let exporter: TestExporter;
let prom: PrometheusServer;

function traffic(canaryErrorRatio: number) {
  // Staging busy enough that its 12 s bake can catch a doubling at α = 0.001 (a quieter one is
  // rolled back as too quiet to judge: rollback.onInsufficientEvidence).
  exporter.set({ service: SVC, environment: 'staging', version: 'v2', rps: 5000, errorRatio: 0.01, noiseSeed: 1 });
  exporter.set({ service: SVC, environment: 'production', version: 'v1', rps: 2000, errorRatio: 0.01, noiseSeed: 2 });
  exporter.set({
    service: SVC,
    environment: 'production',
    version: 'v2',
    rps: 1000,
    errorRatio: canaryErrorRatio,
    noiseSeed: 3,
  });
}

beforeAll(async () => {
  exporter = await startTestExporter();
  traffic(0.01);
  prom = await startPrometheus([exporter.target]);
  env = await devServerEnv();
  await prom.waitForScrapes(5);
});
afterAll(async () => {
  await env?.teardown();
  await prom?.stop();
  await exporter?.close();
});

/** Polls every 3 s (an increase() needs at least two 1 s scrapes in its window); α = 0.001 per promotion. */
function rig() {
  const monitoring = { maxSilenceMinutes: 0.5, intervalSeconds: 3, prometheus: prometheusCountSettings(prom.url) };
  const text = testPolicyYaml({ bakeHours: 12 / 3600, canaryMinutes: 0.5, productionWatchMinutes: 0.2 })
    .replace(/^monitoring: .*$/m, `monitoring: ${JSON.stringify(monitoring)}`)
    .replace(/^rollback: \{/m, 'rollback: { falseRollbackRate: 0.001,');
  assert.match(text, /falseRollbackRate: 0\.001/);
  return createRig(env, { deps: { loadPolicy: () => parsePolicy(text, 'sequential-watch-policy') } });
}

describe('sequential breach test on real Prometheus counts (dev server, Poisson-noisy exporter)', () => {
  test('a healthy version with noisy counts is promoted; each watch’s test is in the state', async () => {
    traffic(0.01);
    const r = rig();
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'awaiting_approval', 90_000);
      for (const who of ['alice', 'bob'])
        await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, who)] });
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'promoted', JSON.stringify(result.interruption));
      const s = await state(h);
      const tests = s.errorRate.tests ?? {};
      assert.deepEqual(Object.keys(tests).sort(), ['canary', 'production', 'staging']);
      assert.match(tests.staging!, /vs pre-deploy [\d,]+ \/ [\d,]+/);
      assert.match(tests.canary!, /likelihood ratio .* < 1\/α = 3\d\d\d/);
      assert.equal(s.errorRate.rateOnly, undefined);
      const last = s.errorRate.last!;
      assert.ok(Number.isInteger(last.errors) && Number.isInteger(last.requests), JSON.stringify(last));
    });
  });

  test('a canary at twice its stable version’s error rate is rolled back, with the statistic', async () => {
    traffic(0.01);
    const r = rig();
    await r.run(async () => {
      const h = await r.start();
      await waitForStage(h, 'canary', 90_000);
      traffic(0.02);
      const result: PromotionResult = await h.result();
      traffic(0.01);
      assert.equal(result.outcome, 'rolled_back', JSON.stringify(result.interruption));
      const i = result.interruption!;
      assert.equal(i.kind, 'breach');
      if (i.kind !== 'breach') return;
      assert.equal(i.sample.environment, 'production');
      assert.match(i.test ?? '', /likelihood ratio .* ≥ 1\/α = 3\d\d\d/);
      assert.ok(i.risePercent > 5, `rise ${i.risePercent}`);
      assert.ok(Math.abs(i.baselineUsed - 0.01) < 0.004, `baseline ${i.baselineUsed}`);
      assert.deepEqual(r.deployer.view(SVC, 'production'), {
        stable: { version: 'initial', replicas: 4 },
        canary: null,
      });
    });
  });
});
