// Each incident of the story as a change that must be blocked, and its safe twin that must pass.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { checkFixture, verdicts } from './fixture-change';

describe('incidents are blocked, safe twins pass', () => {
  it('AI-DEPLOY-009: failureThreshold 1 is blocked at its line, naming the limit', async () => {
    const r = await checkFixture('incident-009-liveness-probe');
    assert.equal(r.decision, 'block');
    assert.deepEqual(verdicts(r.findings), ['liveness-probe block', 'vacuous-probe warn']);
    const [f] = r.findings;
    assert.equal(f.file, 'k8s/staging/notification-service/deployment.yaml');
    assert.equal(f.line, 24);
    assert.match(f.message, /failureThreshold 1, below the minimum 3/);
    assert.match(f.message, /notification-service/);
  });

  it('AI-DEPLOY-009 twin: failureThreshold 5 passes; the only finding is the missing readiness probe', async () => {
    const r = await checkFixture('incident-009-safe-twin');
    assert.deepEqual(verdicts(r.findings), ['vacuous-probe warn']);
    assert.match(r.findings[0].message, /"notification-service" .* has no readinessProbe/);
    assert.doesNotMatch(r.findings[0].message, /no livenessProbe/);
  });

  it('AI-DEPLOY-006: 512Mi → 2Gi on 8 replicas is blocked twice: +300 % and 12Gi over the 8Gi free', async () => {
    const r = await checkFixture('incident-006-memory');
    assert.equal(r.decision, 'block');
    assert.deepEqual(r.rules('block'), ['memory-capacity', 'memory-increase']);
    const capacity = r.findings.find((f) => f.rule === 'memory-capacity')!;
    assert.match(capacity.message, /12Gi more memory/);
    assert.match(capacity.message, /8Gi free/);
    const increases = r.findings.filter((f) => f.rule === 'memory-increase');
    assert.deepEqual(
      increases.map((f) => f.line),
      [18, 19],
    ); // requests and limits, each at its line
    assert.match(increases[1].message, /from 512Mi to 2Gi \(\+300 %, limit \+50 %\)/);
  });

  it('AI-DEPLOY-006 twin: exactly +50 % (512Mi → 768Mi) that fits the pool passes; its missing probes warn', async () => {
    const r = await checkFixture('incident-006-safe-twin');
    assert.deepEqual(verdicts(r.findings), ['vacuous-probe warn']);
    assert.match(r.findings[0].message, /no livenessProbe.*no readinessProbe/);
  });

  it('AI-DEPLOY-001: replicas 3 → 17 is blocked; 3 → 5 passes', async () => {
    const bad = await checkFixture('incident-001-replicas');
    assert.deepEqual(bad.rules(), ['replicas']);
    assert.match(bad.findings[0].message, /from 3 to 17, above the maximum of 10/);
    const twin = await checkFixture('incident-001-safe-twin');
    assert.deepEqual(twin.findings, []);
  });

  it('AI-DEPLOY-012: an index in a shared module reached by terraform/production is blocked as reach', async () => {
    const r = await checkFixture('incident-012-shared-module');
    assert.equal(r.decision, 'block');
    assert.deepEqual(r.rules('block'), ['reach']);
    assert.deepEqual(r.rules('warn'), ['sensitive-database', 'sensitive-production']);
    const reach = r.findings.find((f) => f.rule === 'reach')!;
    assert.equal(reach.file, 'terraform/modules/shared/database.tf');
    assert.match(reach.message, /used by terraform\/production \(through terraform\/modules\/users-db\)/);
    assert.match(r.findings.find((f) => f.rule === 'sensitive-database')!.message, /postgresql_index\.users_email/);
  });

  it('AI-DEPLOY-012 twin: a module used only by staging passes', async () => {
    const r = await checkFixture('incident-012-safe-twin');
    assert.deepEqual(r.findings, []);
  });
});
