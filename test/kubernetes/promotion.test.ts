// End to end: the real promotion workflow (time-skipping server, real worker and activities) with
// the Kubernetes deployer on a real API server. A breach during the canary rolls back production
// and staging, and the cluster ends exactly on the templates it had before the change.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { atRate, createRig, feed, sendSample, timeSkippingEnv, untilStage } from '../helpers/harness';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { createKubernetesDeployer, canaryName } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { parsePolicy } from '../../src/policy/config/load';
import type { PromotionResult } from '../../src/workflows/messages';
import { testPolicyYaml } from '../helpers/harness';
import { KUBERNETES_POLICY, prepareCluster, readDeployment, readyPodImages, serviceYaml } from './fixtures';

let cluster: TestCluster;
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [cluster, env] = await Promise.all([startTestCluster(), timeSkippingEnv()]);
  await prepareCluster(cluster);
});
afterAll(async () => {
  await Promise.all([cluster?.teardown(), env?.teardown()]);
});

test('breach during the canary: production and staging restored to their exact templates, canary gone', async () => {
  const service = 'notification-service';
  await cluster.applyYaml(serviceYaml({ service, environment: 'staging', replicas: 2 }));
  await cluster.applyYaml(serviceYaml({ service, environment: 'production', replicas: 10 }));
  const before = {
    staging: (await readDeployment(cluster, 'staging', service))!,
    production: (await readDeployment(cluster, 'production', service))!,
  };

  const policyText = testPolicyYaml({ extra: KUBERNETES_POLICY });
  const policy = parsePolicy(policyText, 'test-policy');
  const deployer = createKubernetesDeployer({
    kubeconfig: cluster.kubeconfig('airlock'),
    settings: () => policy.policy.kubernetes!,
    pollMs: 200,
  });
  const rig = createRig(env, { deps: { deployer, loadPolicy: () => parsePolicy(policyText, 'test-policy') } });

  await rig.run(async () => {
    const h = await rig.start({ service, version: 'v2' });
    await feed(env, h, { stop: untilStage('canary'), stepMinutes: 5 });
    // The change really is on the cluster: staging fully on v2, a one-pod canary beside 10 stable.
    assert.deepEqual(await readyPodImages(cluster, 'staging', `app=${service}`), {
      [`registry.example/${service}:v2`]: 2,
    });
    assert.deepEqual(await readyPodImages(cluster, 'production', `app=${service}`), {
      [`registry.example/${service}:v1`]: 10,
      [`registry.example/${service}:v2`]: 1,
    });

    await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
    const r: PromotionResult = await h.result();
    assert.equal(r.outcome, 'rolled_back');
    assert.equal(r.interruption?.kind, 'breach');
  });

  for (const environment of ['staging', 'production'] as const) {
    const after = (await readDeployment(cluster, environment, service))!;
    assert.deepEqual(
      after.spec.template,
      before[environment].spec.template,
      `${environment}: the exact template recorded before the change`,
    );
    assert.equal(after.spec.replicas, before[environment].spec.replicas);
    assert.equal(
      after.status.availableReplicas,
      before[environment].spec.replicas,
      `${environment}: rolled out, not just written`,
    );
  }
  assert.equal(await readDeployment(cluster, 'production', canaryName(service)), null);
  assert.deepEqual(await readyPodImages(cluster, 'production', `app=${service}`), {
    [`registry.example/${service}:v1`]: 10,
  });
  assert.deepEqual(await readyPodImages(cluster, 'staging', `app=${service}`), {
    [`registry.example/${service}:v1`]: 2,
  });
});
