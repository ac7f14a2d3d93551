// The replica count of a workload an HPA scales: the live count is sent, never the render's, and
// never nothing (server-side apply would drop a field Airlock owned: the Deployment would fall to 1).
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectSetClient } from '../../../../src/integrations/kubernetes/object-set-client';
import {
  describeAutoscaled,
  yieldReplicasToAutoscalers,
} from '../../../../src/integrations/kubernetes/object-set-autoscaled';

const deployment = (name: string, replicas?: number): KubernetesObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { ...(replicas === undefined ? {} : { replicas }), template: {} },
  }) as KubernetesObject;
const hpa = (name: string, target: string, kind = 'Deployment'): KubernetesObject =>
  ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name: target }, minReplicas: 1, maxReplicas: 9 },
  }) as KubernetesObject;

/** A client that knows the live replica counts by name, and counts its reads. */
function liveCounts(counts: Record<string, number>) {
  const reads: string[] = [];
  const client = {
    get: async (id: { name: string }) => {
      reads.push(id.name);
      return id.name in counts ? { spec: { replicas: counts[id.name] } } : null;
    },
  } as unknown as ObjectSetClient;
  return { client, reads };
}

const replicasOf = (objects: KubernetesObject[], name: string) =>
  (objects.find((o) => o.metadata?.name === name) as { spec: { replicas?: number } }).spec.replicas;

describe('yieldReplicasToAutoscalers', () => {
  it('sends the live count for a workload its HPA scales, and says where the render asked for another', async () => {
    const { client, reads } = liveCounts({ worker: 7, web: 3 });
    const set = {
      namespace: 'prod',
      service: 'svc',
      desired: [deployment('worker', 2), hpa('worker', 'worker'), deployment('web', 5)],
    };
    const { set: out, kept } = await yieldReplicasToAutoscalers(client, set);
    assert.equal(replicasOf(out.desired, 'worker'), 7);
    assert.equal(replicasOf(out.desired, 'web'), 5, 'no HPA: the render decides');
    assert.deepEqual(reads, ['worker'], 'only targeted workloads are read');
    assert.equal(kept.length, 1);
    assert.equal(
      describeAutoscaled(kept[0]),
      "replicas of Deployment prod/worker stay at the live 7: HorizontalPodAutoscaler worker scales it (the render's 2 is not applied)",
    );
    assert.equal(replicasOf(set.desired, 'worker'), 2, 'the input set is not changed');
  });

  it('a render without replicas gets the live count silently; a new workload keeps the render', async () => {
    const { client } = liveCounts({ worker: 4 });
    const { set, kept } = await yieldReplicasToAutoscalers(client, {
      namespace: 'prod',
      service: 'svc',
      desired: [deployment('worker'), hpa('worker', 'worker'), deployment('fresh', 2), hpa('fresh', 'fresh')],
    });
    assert.equal(replicasOf(set.desired, 'worker'), 4);
    assert.equal(replicasOf(set.desired, 'fresh'), 2);
    assert.deepEqual(kept, []);
  });

  it('the HPA must name the workload by kind and name', async () => {
    const { client, reads } = liveCounts({ worker: 4 });
    const { set } = await yieldReplicasToAutoscalers(client, {
      namespace: 'prod',
      service: 'svc',
      desired: [deployment('worker', 2), hpa('h', 'worker', 'StatefulSet'), hpa('g', 'other')],
    });
    assert.equal(replicasOf(set.desired, 'worker'), 2);
    assert.deepEqual(reads, []);
  });
});
