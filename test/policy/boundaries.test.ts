// Boundaries of the probe, memory and replica rules.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { checkFixture, fixturePolicy, verdicts } from './fixture-change';

describe('liveness probe boundaries', () => {
  it('an absent failureThreshold is Kubernetes default 3: passes at minimum 3', async () => {
    const r = await checkFixture('liveness-default-threshold');
    assert.deepEqual(verdicts(r.findings), ['vacuous-probe warn']);
    assert.doesNotMatch(r.findings[0].message, /no livenessProbe/); // only the readiness probe is missing
  });

  it('an absent failureThreshold is blocked when the policy asks for 4, and says the 3 is the default', async () => {
    const r = await checkFixture('liveness-default-threshold', fixturePolicy({ minLivenessFailureThreshold: 4 }));
    assert.deepEqual(verdicts(r.findings), ['liveness-probe block', 'vacuous-probe warn']);
    assert.match(r.findings[0].message, /failureThreshold 3, below the minimum 4/);
  });

  it('finds a weak probe in the second document of a file, inside a CronJob', async () => {
    const r = await checkFixture('liveness-multidoc-cronjob');
    // A CronJob's pods run to completion: no probe is required of them, a memory limit is.
    assert.deepEqual(verdicts(r.findings), ['liveness-probe block', 'vacuous-memory-limit warn']);
    assert.equal(r.findings[0].line, 22);
    assert.match(r.findings[0].message, /container "mailer" in CronJob digest-mailer has failureThreshold 2/);
  });
});

describe('memory boundaries', () => {
  it('unit mixes compare exactly: only 500M → 1Gi (+114.74 %) is over +50 %', async () => {
    const r = await checkFixture('memory-unit-mix');
    const increases = r.findings.filter((f) => f.rule === 'memory-increase');
    assert.equal(increases.length, 1);
    assert.match(increases[0].message, /container "m-vs-mi".*from 500M to 1Gi \(\+114\.74 %/);
  });

  it('a raise within +50 % is still blocked when replicas × added memory exceeds the free pool', async () => {
    const r = await checkFixture('memory-capacity-only');
    assert.deepEqual(verdicts(r.findings), ['memory-capacity block', 'vacuous-probe warn']);
    assert.match(r.findings[0].message, /20Gi more memory.*8Gi free/);
  });

  it('the same raise fits when the pool has room', async () => {
    const r = await checkFixture('memory-capacity-only', fixturePolicy({ nodePoolFreeMemory: '20Gi' }));
    assert.deepEqual(verdicts(r.findings), ['vacuous-probe warn']);
  });

  it('without nodePoolFreeMemory an added claim is a warning, never a silent pass', async () => {
    const r = await checkFixture('incident-006-safe-twin', fixturePolicy({ nodePoolFreeMemory: undefined }));
    assert.equal(r.decision, 'allow');
    assert.deepEqual(r.rules('warn'), ['memory-capacity', 'vacuous-probe']);
    assert.match(
      r.findings.find((f) => f.rule === 'memory-capacity')!.message,
      /2Gi more memory.*nodePoolFreeMemory is not set/,
    );
  });

  it('a lower maxMemoryIncreasePercent blocks the +50 % twin', async () => {
    const r = await checkFixture('incident-006-safe-twin', fixturePolicy({ maxMemoryIncreasePercent: 49.9 }));
    assert.deepEqual(r.rules('block'), ['memory-increase']);
  });
});

describe('replica boundaries', () => {
  it('HPA maxReplicas above the ceiling is blocked at its line', async () => {
    const r = await checkFixture('hpa-max-replicas');
    assert.deepEqual(r.rules(), ['replicas']);
    assert.equal(r.findings[0].line, 7);
    assert.match(r.findings[0].message, /maxReplicas of HorizontalPodAutoscaler api-gateway goes from 10 to 25/);
  });

  it('exactly maxReplicas passes', async () => {
    const r = await checkFixture('hpa-max-replicas', fixturePolicy({ maxReplicas: 25 }));
    assert.deepEqual(r.findings, []);
  });
});
