// Workloads a HorizontalPodAutoscaler scales: their replica count belongs to the autoscaler, not
// to the render. Applying the render's `replicas` would reset what the HPA chose (17 pods under
// load back to 3) on every rollout, and the next HPA sync would scale them up again: the fight the
// Kubernetes docs warn about. Dropping the field is no cure with server-side apply: a field Airlock
// owned and no longer sends is removed, and the Deployment falls to 1 replica. So Airlock sends the
// live count, which changes nothing and leaves the autoscaler in charge; a workload that does not
// exist yet starts at the render's count.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectSetClient } from './object-set-client';
import { describeId, idOf, type Json, type ObjectId, type ObjectSet } from './object-set';

/** The kinds an HPA can scale that carry `spec.replicas`. */
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

export interface AutoscaledReplicas {
  id: ObjectId;
  /** The HPA of the render that scales it. */
  autoscaler: string;
  /** The count the render asks for. */
  rendered: number;
  /** The live count, sent instead. */
  live: number;
}

interface HpaShape {
  spec?: { scaleTargetRef?: { kind?: string; name?: string } };
}

/** "kind/name" of each workload an HPA of `desired` targets, with the HPA's name. */
export function autoscalerTargets(desired: KubernetesObject[]): Map<string, string> {
  const targets = new Map<string, string>();
  for (const o of desired) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue;
    const ref = (o as HpaShape).spec?.scaleTargetRef;
    if (ref?.kind && ref.name) targets.set(`${ref.kind}/${ref.name}`, o.metadata?.name ?? '');
  }
  return targets;
}

/**
 * `set` with every live workload its HPAs scale at its live replica count, and where the render
 * asked for another count. One read per targeted workload.
 */
export async function yieldReplicasToAutoscalers(
  client: ObjectSetClient,
  set: ObjectSet,
  signal?: AbortSignal,
): Promise<{ set: ObjectSet; kept: AutoscaledReplicas[] }> {
  const targets = autoscalerTargets(set.desired);
  if (!targets.size) return { set, kept: [] };
  const kept: AutoscaledReplicas[] = [];
  const desired = await Promise.all(
    set.desired.map(async (o) => {
      const autoscaler = targets.get(`${o.kind}/${o.metadata?.name}`);
      if (!autoscaler || !SCALABLE.has(o.kind ?? '')) return o;
      const id = idOf(o, set.namespace);
      const live = (await client.get(id, signal)) as { spec?: { replicas?: number } } | null;
      const count = live?.spec?.replicas;
      if (typeof count !== 'number') return o;
      const spec = (o as Json).spec as { replicas?: number } | undefined;
      // A render without the field (as the Kubernetes docs advise) gets the live count silently.
      if (spec?.replicas !== undefined && spec.replicas !== count)
        kept.push({ id, autoscaler, rendered: spec.replicas, live: count });
      return { ...o, spec: { ...spec, replicas: count } } as KubernetesObject;
    }),
  );
  return { set: { ...set, desired }, kept };
}

/** How the approvers and the deploy result read it. */
export function describeAutoscaled(k: AutoscaledReplicas): string {
  return `replicas of ${describeId(k.id)} stay at the live ${k.live}: HorizontalPodAutoscaler ${k.autoscaler} scales it (the render's ${k.rendered} is not applied)`;
}
