// canaryObjects: which Deployments get a canary, with what, and what of a change cannot be canaried.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { canaryObjects } from '../../../../src/integrations/kubernetes/object-set-canary';
import type { Json } from '../../../../src/integrations/kubernetes/object-set';

const NS = 'production';

function deployment(o: { replicas?: number; image?: string; strategy?: string } = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'payment', namespace: NS, labels: { app: 'payment', 'airlock.dev/service': 'payment' } },
    spec: {
      replicas: o.replicas ?? 15,
      selector: { matchLabels: { app: 'payment' } },
      strategy: { type: o.strategy ?? 'RollingUpdate' },
      template: {
        metadata: { labels: { app: 'payment', tier: 'backend' } },
        spec: { containers: [{ name: 'app', image: o.image ?? 'registry.example/payment:v1' }] },
      },
    },
    // Server-managed: never a reason for a canary.
    status: { replicas: 15 },
  };
}

const configMap = (level: string): Json => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'payment-config', namespace: NS },
  data: { LOG_LEVEL: level },
});
const service = (name: string): Json => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { selector: { app: 'payment' } },
});

const reasons = (p: ReturnType<typeof canaryObjects>) =>
  p.notCanaried.map((n) => `${n.id.kind}/${n.id.name}: ${n.reason}`);

describe('canaryObjects', () => {
  test('a pod template change: one canary with the new template at ceil(10 % of stable), track label on pods and selector', () => {
    const plan = canaryObjects({
      desired: [deployment({ image: 'registry.example/payment:v2' }), configMap('info')],
      live: [
        { ...deployment(), metadata: { ...(deployment().metadata as object), resourceVersion: '9', uid: 'u' } },
        configMap('info'),
      ],
      percent: 10,
    });
    assert.deepEqual(plan.notCanaried, []);
    assert.equal(plan.canary.length, 1);
    const c = plan.canary[0] as {
      metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string };
      spec: {
        replicas: number;
        strategy: Json;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
      };
    };
    assert.equal(c.metadata.name, 'payment-canary');
    assert.equal(c.metadata.namespace, NS);
    assert.equal(c.metadata.resourceVersion, undefined);
    assert.equal(c.spec.replicas, 2, 'ceil(1.5)');
    assert.equal(c.spec.template.spec.containers[0].image, 'registry.example/payment:v2');
    assert.deepEqual(c.spec.template.metadata.labels, {
      app: 'payment',
      tier: 'backend',
      'airlock.dev/track': 'canary',
    });
    assert.deepEqual(c.spec.selector.matchLabels, { app: 'payment', 'airlock.dev/track': 'canary' });
    assert.deepEqual(c.spec.strategy, { type: 'RollingUpdate' });
    assert.equal(c.metadata.labels['airlock.dev/track'], 'canary');
  });

  test('percent of the live stable replicas, not the desired ones; at least one pod', () => {
    const plan = canaryObjects({
      desired: [deployment({ image: 'x:v2', replicas: 40 })],
      live: [deployment({ replicas: 4 })],
      percent: 10,
    });
    assert.equal((plan.canary[0] as { spec: { replicas: number } }).spec.replicas, 1);
    assert.deepEqual(reasons(plan), ['Deployment/payment: replica count 4 → 40: applies to production at once']);
  });

  test('nothing to canary: replica-only, ConfigMap, new Service, strategy, deletion each say why', () => {
    const plan = canaryObjects({
      desired: [deployment({ replicas: 17, strategy: 'Recreate' }), configMap('debug'), service('payment-admin')],
      live: [deployment(), configMap('info'), service('payment-legacy')],
      percent: 10,
    });
    assert.deepEqual(plan.canary, []);
    assert.deepEqual(reasons(plan), [
      'Deployment/payment: replica count 15 → 17: applies to production at once',
      'Deployment/payment: Deployment spec outside the pod template (strategy, selector, ...)',
      'ConfigMap/payment-config: ConfigMap: read by the stable pods: a change reaches all of them, not a fraction',
      'Service/payment-admin: Service: one Service sends traffic to stable and canary pods alike',
      'Service/payment-legacy: Service deleted: removal reaches all of production at once',
    ]);
  });

  test('an unchanged render: no canary and no reasons; a new Deployment and an HPA are named', () => {
    assert.deepEqual(
      canaryObjects({
        desired: [deployment(), configMap('info')],
        live: [deployment(), configMap('info')],
        percent: 10,
      }),
      {
        canary: [],
        support: [],
        notCanaried: [],
      },
    );
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'payment', namespace: NS },
      spec: { maxReplicas: 5 },
    };
    const plan = canaryObjects({ desired: [deployment(), hpa], live: [], percent: 10 });
    assert.deepEqual(plan.canary, []);
    assert.deepEqual(reasons(plan), [
      'Deployment/payment: new Deployment: no stable pods to run beside; it starts with the full rollout',
      'HorizontalPodAutoscaler/payment: HorizontalPodAutoscaler: scales the stable workload as a whole',
    ]);
  });

  test("adoption (Airlock's label added to unchanged objects) and the live canary copy of the last step are no change", () => {
    const unlabelled = (o: Json): Json => {
      const copy = structuredClone(o) as { metadata: { labels?: Record<string, string> } };
      delete copy.metadata.labels?.['airlock.dev/service'];
      return copy;
    };
    const [canary] = canaryObjects({
      desired: [deployment({ image: 'registry.example/payment:v2' })],
      live: [deployment()],
      percent: 10,
    }).canary;
    const plan = canaryObjects({
      desired: [
        deployment(),
        {
          ...configMap('info'),
          metadata: { name: 'payment-config', namespace: NS, labels: { 'airlock.dev/service': 'payment' } },
        },
      ],
      live: [unlabelled(deployment()), configMap('info'), canary],
      percent: 10,
    });
    assert.deepEqual(plan, { canary: [], support: [], notCanaried: [] });
  });

  test('a StatefulSet or DaemonSet whose template changes gets no copy, and says why', () => {
    const workload = (kind: string, image: string): Json => {
      const d = deployment({ image }) as { kind: string; metadata: { name: string } };
      return { ...d, kind, metadata: { ...d.metadata, name: kind.toLowerCase() } };
    };
    const kinds = ['StatefulSet', 'DaemonSet'];
    const plan = canaryObjects({
      desired: kinds.map((k) => workload(k, 'registry.example/payment:v2')),
      live: kinds.map((k) => workload(k, 'registry.example/payment:v1')),
      percent: 10,
    });
    assert.deepEqual(plan.canary, []);
    assert.deepEqual(reasons(plan), [
      'StatefulSet/statefulset: StatefulSet: pods with stable names and their own volumes: a copy would start new ones with empty volumes',
      'DaemonSet/daemonset: DaemonSet: one pod per node: a copy would run on every node, not on a fraction',
    ]);
  });

  test('a new ConfigMap goes with the canary when there is one (a generator edit renames it); without one it waits for the rollout', () => {
    const generated = (hash: string): Json => ({
      ...configMap('info'),
      metadata: { name: `payment-env-${hash}`, namespace: NS },
    });
    const withCanary = canaryObjects({
      desired: [deployment({ image: 'registry.example/payment:v2' }), generated('b2')],
      live: [deployment(), generated('a1')],
      percent: 10,
    });
    assert.equal(withCanary.canary.length, 1);
    assert.deepEqual(
      withCanary.support.map((x) => (x.metadata as { name: string }).name),
      ['payment-env-b2'],
    );
    // The old one is still read by the stable pods: its deletion comes with the rollout.
    assert.deepEqual(reasons(withCanary), [
      'ConfigMap/payment-env-a1: ConfigMap deleted: removal reaches all of production at once',
    ]);

    const without = canaryObjects({ desired: [deployment(), generated('b2')], live: [deployment()], percent: 10 });
    assert.deepEqual(without.support, []);
    assert.deepEqual(reasons(without), [
      'ConfigMap/payment-env-b2: new ConfigMap: no canary to read it; created with the rollout',
    ]);
  });
});
