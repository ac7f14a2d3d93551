// End to end, the change itself: the real promotion workflow (time-skipping server, real worker and
// activities) promoting what the merge commit renders with the real kustomize onto a real API
// server. The story's probe fix (AI-DEPLOY-009: liveness failureThreshold) is applied to staging,
// canaried as a copy of the production Deployment with the new template, and either rolled back by
// a breach, leaving every object exactly as before, or approved and rolled out with the canary gone.
import { afterAll, afterEach, beforeAll, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  createRig,
  feed,
  sendSample,
  testPolicyYaml,
  timeSkippingEnv,
  untilStage,
  workflowBundle,
  atRate,
} from '../helpers/harness';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { backgroundBuildDone } from '../helpers/background-build';
import { REPO_ROOT } from '../helpers/tools';
import { signedApproval } from '../helpers/approver-keys';
import { createKubernetesDeployer } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { createChangeDeployer } from '../../src/integrations/change-deployer';
import { renderKubernetes } from '../../src/integrations/render';
import { stripServerFields } from '../../src/integrations/kubernetes/object-set-strip';
import { SERVICE_LABEL, type Json } from '../../src/integrations/kubernetes/object-set';
import { parsePolicy } from '../../src/policy/config/load';
import { approveUpdate, stateQuery, type PromotionResult } from '../../src/workflows/messages';
import { readProductionChange } from '../../src/client/production-change';
import { KUBERNETES_POLICY, NAMESPACE, prepareCluster } from './fixtures';
import { BASE_FILES, createTestRepo, type TestRepo } from './render-repo';

const SERVICE = 'notification-service';
const DEPLOYMENT = 'k8s/base/notification-service/deployment.yaml';
const OVERLAY = (environment: string) => `k8s/overlays/${environment}`;

let cluster: TestCluster;
let env: TestWorkflowEnvironment;
let repo: TestRepo;
let base: string;
let head: string;

/** Every object of the service in both namespaces, as the API server serves it. */
async function liveObjects(): Promise<Record<string, Json | null>> {
  const out: Record<string, Json | null> = {};
  for (const namespace of Object.values(NAMESPACE))
    for (const [kind, path] of [
      ['Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`],
      ['Service', `/api/v1/namespaces/${namespace}/services`],
      ['ConfigMap', `/api/v1/namespaces/${namespace}/configmaps`],
    ] as const) {
      const list = (await cluster.admin.objects.list(path.includes('/apps/') ? 'apps/v1' : 'v1', kind, namespace))
        .items as unknown as Json[];
      for (const o of list) {
        const name = (o.metadata as { name: string }).name;
        if (name === 'kube-root-ca.crt') continue;
        out[`${kind} ${namespace}/${name}`] = o;
      }
    }
  return out;
}

/** Every object of both namespaces equals `before` but for server-managed fields; none added, none missing. */
async function assertLiveAsBefore(before: Record<string, Json | null>): Promise<void> {
  const after = await liveObjects();
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), 'no object left behind, none missing');
  for (const [key, object] of Object.entries(before))
    assert.deepEqual(stripServerFields(after[key]!), stripServerFields(object!), `${key} exactly as before`);
}

const deploymentIn = (objects: Record<string, Json | null>, namespace: string, name: string) =>
  objects[`Deployment ${namespace}/${name}`] as
    | (Json & {
        metadata: { labels?: Record<string, string> };
        spec: {
          replicas: number;
          template: { spec: { containers: { livenessProbe: { failureThreshold: number } }[] } };
        };
      })
    | undefined;

const threshold = (d: ReturnType<typeof deploymentIn>) =>
  d?.spec.template.spec.containers[0].livenessProbe.failureThreshold;

beforeAll(async () => {
  await backgroundBuildDone(); // kustomize
  cluster = await startTestCluster();
  await prepareCluster(cluster);
  await cluster.applyYaml(readFileSync(resolve(REPO_ROOT, 'docs/kubernetes-object-set-rbac.yaml'), 'utf8'));
  repo = createTestRepo();
  base = repo.commit(BASE_FILES, 'base');
  head = repo.commit(
    { [DEPLOYMENT]: (BASE_FILES[DEPLOYMENT] as string).replace('failureThreshold: 3', 'failureThreshold: 5') },
    'notification-service: liveness failureThreshold 3 -> 5 (AI-DEPLOY-009 fix)',
  );
}, 45 * 60_000);
afterAll(async () => {
  repo?.remove();
  await cluster?.teardown();
});
// A time-skipping server per test: a rollback cancels the watch activity in flight, and the
// server then keeps a time-skipping lock for it (sdk-java#1138), so the next test's time never moves.
beforeEach(async () => {
  env = await timeSkippingEnv();
});
afterEach(async () => {
  await env?.teardown();
});

/** The live state before Airlock: the base render applied by someone else (kubectl), unlabelled. */
async function liveAtBase(): Promise<void> {
  for (const environment of ['staging', 'production'] as const) {
    const objects = await renderKubernetes(
      { kustomize: OVERLAY(environment) },
      { repoDir: repo.dir, commit: base, namespace: NAMESPACE[environment] },
    );
    await cluster.applyYaml(objects.map((o) => stringify(o.object)).join('---\n'));
  }
}

function rigFor() {
  const policyText = testPolicyYaml({
    extra: KUBERNETES_POLICY,
    services: `  - name: ${SERVICE}
    paths: ["k8s/**"]
    environments:
      staging: { kubernetes: { kustomize: ${OVERLAY('staging')} } }
      production: { kubernetes: { kustomize: ${OVERLAY('production')} } }`,
  });
  const policy = parsePolicy(policyText, 'test-policy').policy;
  const kubeconfig = cluster.kubeconfig('airlock');
  const deployer = createChangeDeployer({
    kubeconfig,
    settings: () => policy.kubernetes!,
    services: () => policy.services,
    repoDir: repo.dir,
    imageDeployer: createKubernetesDeployer({ kubeconfig, settings: () => policy.kubernetes!, pollMs: 200 }),
    pollMs: 200,
  });
  return createRig(env, { deps: { deployer, loadPolicy: () => parsePolicy(policyText, 'test-policy') } });
}

describe('the merged manifests are what is staged, canaried, approved and rolled back', () => {
  test('a breach during the canary: every object of both namespaces back exactly as before, canary gone', async () => {
    await liveAtBase();
    const before = await liveObjects();
    const rig = rigFor();
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE, commit: head, baseCommit: base, version: head.slice(0, 12) });
      await feed(env, h, { stop: untilStage('canary'), stepMinutes: 5 });
      const during = await liveObjects();
      // Staging runs the rendered change, applied by Airlock and labelled for the service.
      const staging = deploymentIn(during, NAMESPACE.staging, SERVICE);
      assert.equal(threshold(staging), 5, 'staging has the new probe');
      assert.equal(staging?.metadata.labels?.[SERVICE_LABEL], SERVICE);
      // Production: stable untouched, a canary copy with the new template at ceil(10 % of 3) = 1.
      assert.equal(threshold(deploymentIn(during, NAMESPACE.production, SERVICE)), 3, 'stable production untouched');
      const canary = deploymentIn(during, NAMESPACE.production, `${SERVICE}-canary`);
      assert.equal(threshold(canary), 5, 'the canary runs the production render of the change');
      assert.equal(canary?.spec.replicas, 1);

      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
    });
    await assertLiveAsBefore(before);
  });

  test('approved by two people: production runs the render of the merge commit, canary gone', async () => {
    await liveAtBase();
    const rig = rigFor();
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE, commit: head, baseCommit: base, version: head.slice(0, 12) });
      const asked = await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 5 });
      // The approvers see what production will get: the server-side dry-run diff, not a description.
      const pc = asked.productionChange;
      assert.ok(pc, 'the approval request carries the production change');
      // Staged, canaried: the stable Deployment is updated, the canary copy goes with the rollout.
      assert.match(pc.text, /^# kubernetes production: .*update Deployment production\/notification-service\b/m);
      assert.match(pc.text, /^# kubernetes production: .*delete Deployment production\/notification-service-canary/m);
      // Only the pod template changed, and the canary ran it: nothing reaches production unexercised
      // (neither Airlock's own label on adopted objects nor its canary copy is part of the change).
      assert.deepEqual(pc.notes, []);
      assert.match(pc.text, /^-\s+failureThreshold: 3$/m);
      assert.match(pc.text, /^\+\s+failureThreshold: 5$/m);
      assert.match(pc.digest, /^sha256:[0-9a-f]{64}$/);
      // What each deploy did is in the state, in the deployer's words.
      assert.deepEqual(
        asked.deploys?.map((d) => d.activity),
        ['deployToEnvironment', 'deployCanary'],
      );
      assert.match(asked.deploys![1].summary, /canary notification-service-canary at 10% of production/);
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      await feed(env, h, { stop: untilStage('ended'), stepMinutes: 5 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
    });
    const after = await liveObjects();
    const production = deploymentIn(after, NAMESPACE.production, SERVICE);
    assert.equal(threshold(production), 5, 'production has the new probe');
    assert.equal(production?.spec.replicas, 3, 'the render says 3 replicas');
    assert.equal(deploymentIn(after, NAMESPACE.production, `${SERVICE}-canary`), undefined, 'canary pruned');
    assert.equal(threshold(deploymentIn(after, NAMESPACE.staging, SERVICE)), 5);
  });

  test('a change the API server refuses (422) fails before staging is touched: the error names the object, nothing changed', async () => {
    await liveAtBase();
    const before = await liveObjects();
    const invalid = repo.commit(
      {
        [DEPLOYMENT]: (BASE_FILES[DEPLOYMENT] as string).replace(
          'image: registry.example/notification-service:1.4.0',
          'image: registry.example/notification-service:1.4.0\n          ports: [{ containerPort: 99999 }]',
        ),
      },
      'notification-service: expose a port (invalid number)',
    );
    const rig = rigFor();
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE, commit: invalid, baseCommit: base, version: invalid.slice(0, 12) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      // Found by the server-side dry run of the staging snapshot, before anything is applied.
      assert.deepEqual(
        [r.interruption?.kind, (r.interruption as { activity?: string }).activity],
        ['activity_failed', 'snapshotEnvironment'],
      );
      const message = (r.interruption as { message: string }).message;
      assert.match(message, /Deployment staging\/notification-service refused: 422/);
      assert.match(message, /containerPort: Invalid value: 99999/);
      assert.match(message, /rendered from k8s\/base\/notification-service\/deployment\.yaml/);
    });
    await assertLiveAsBefore(before);
  });

  test('approvals are of the production change: a wrong or missing digest is refused, and drift after approval asks again', async () => {
    await liveAtBase();
    const rig = rigFor();
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE, commit: head, baseCommit: base, version: head.slice(0, 12) });
      const asked = await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 5 });
      const shown = asked.productionChange!.digest;
      const other = `sha256:${'0'.repeat(64)}`;
      await assert.rejects(
        h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice', undefined, other)] }),
        (e: Error) => /is not the production change awaiting approval/.test(String((e.cause as Error)?.message)),
      );
      await assert.rejects(
        h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice', undefined, null)] }),
        (e: Error) => /changeDigest is required/.test(String((e.cause as Error)?.message)),
      );
      // The digest is signed: moving a signature made for one change onto another is a forgery.
      const forged = { ...(await signedApproval(env, h, 'alice', undefined, other)), changeDigest: shown };
      await assert.rejects(h.executeUpdate(approveUpdate, { args: [forged] }), (e: Error) =>
        /forged or altered/.test(String((e.cause as Error)?.message)),
      );
      assert.equal((await h.query(stateQuery)).approvals.length, 0, 'no refused approval counted');

      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      // Someone scales the live production Deployment by hand after alice approved: the rollout's
      // diff is no longer the one approved.
      await cluster.admin.apps.patchNamespacedDeploymentScale({
        name: SERVICE,
        namespace: NAMESPACE.production,
        body: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
      });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      const again = await feed(env, h, {
        stop: (s) => s.stage === 'awaiting_approval' && !!s.approvalsVoided?.length,
        stepMinutes: 1,
      });
      assert.deepEqual(again.approvals, [], 'the approvals of the old diff are void');
      assert.deepEqual(again.approvalsVoided?.[0].approvers, ['alice', 'bob']);
      assert.notEqual(again.productionChange!.digest, shown);
      assert.match(again.productionChange!.text, /^-\s+replicas: 5$/m, 'the new diff shows the drift');
      // `airlock diff` reads the newest preview, whole, from history.
      const recorded = await readProductionChange(env.client, h.workflowId);
      assert.equal(recorded?.digest, again.productionChange!.digest);
      assert.equal(recorded?.previews, 2);
      // The old digest no longer approves; the new one does.
      await assert.rejects(
        h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice', undefined, shown)] }),
      );
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      await feed(env, h, { stop: untilStage('ended'), stepMinutes: 5 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      assert.deepEqual(
        r.approvals.map((a) => a.changeDigest),
        [again.productionChange!.digest, again.productionChange!.digest],
      );
      // The path through drift and a second approval replays (as after a worker restart).
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, await h.fetchHistory(), h.workflowId);
    });
    const production = deploymentIn(await liveObjects(), NAMESPACE.production, SERVICE);
    assert.equal(production?.spec.replicas, 3, 'the rollout put back what the render says');
  });
});
