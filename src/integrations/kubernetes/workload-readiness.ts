// Readiness of the workloads of an object set, judged as `kubectl rollout status` judges it (its
// status viewers for Deployment, StatefulSet and DaemonSet), plus Jobs: complete, or failed.
import { sleep, throwIfAborted } from '../cancellation';
import { RolloutFailedError } from './kubernetes-errors';
import { rolloutStatus, type DeploymentRolloutView, type RolloutStatus } from './kubernetes-rollout';
import type { ObjectSetClient } from './object-set-client';
import { describeId, type Json, type ObjectId } from './object-set';

interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface WorkloadView {
  metadata?: { generation?: number };
  spec?: {
    replicas?: number;
    completions?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    succeeded?: number;
    conditions?: Condition[];
  };
}

const waiting = (waitingFor: string): RolloutStatus => ({ done: false, waitingFor });
const observed = (w: WorkloadView) => (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);

export function statefulSetStatus(w: WorkloadView): RolloutStatus {
  const s = w.status ?? {};
  if (!observed(w)) return waiting('the statefulset controller to observe the new spec');
  // OnDelete: pods change only when deleted; kubectl has no rollout to watch either.
  if (w.spec?.updateStrategy?.type === 'OnDelete') return { done: true };
  const wanted = w.spec?.replicas ?? 1;
  if ((s.readyReplicas ?? 0) < wanted) return waiting(`${s.readyReplicas ?? 0} of ${wanted} pods ready`);
  const partition = w.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const due = wanted - partition;
    return (s.updatedReplicas ?? 0) < due
      ? waiting(`${s.updatedReplicas ?? 0} of ${due} partitioned pods updated`)
      : { done: true };
  }
  if (s.updateRevision !== s.currentRevision)
    return waiting(
      `${s.updatedReplicas ?? 0} pods at revision ${s.updateRevision ?? '?'} (current ${s.currentRevision ?? '?'})`,
    );
  return { done: true };
}

export function daemonSetStatus(w: WorkloadView): RolloutStatus {
  const s = w.status ?? {};
  if (!observed(w)) return waiting('the daemonset controller to observe the new spec');
  if (w.spec?.updateStrategy?.type === 'OnDelete') return { done: true };
  const wanted = s.desiredNumberScheduled ?? 0;
  if ((s.updatedNumberScheduled ?? 0) < wanted)
    return waiting(`${s.updatedNumberScheduled ?? 0} of ${wanted} updated pods scheduled`);
  if ((s.numberAvailable ?? 0) < wanted)
    return waiting(`${s.numberAvailable ?? 0} of ${wanted} updated pods available`);
  return { done: true };
}

export function jobStatus(w: WorkloadView): RolloutStatus {
  const conditions = w.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed)
    return { done: false, failed: `job failed (${failed.reason ?? 'no reason'}): ${failed.message ?? 'no message'}` };
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return { done: true };
  return waiting(`${w.status?.succeeded ?? 0} of ${w.spec?.completions ?? 1} completions`);
}

const VIEWERS: Record<string, (w: Json) => RolloutStatus> = {
  Deployment: (w) => rolloutStatus(w as DeploymentRolloutView),
  StatefulSet: statefulSetStatus,
  DaemonSet: daemonSetStatus,
  Job: jobStatus,
};

/** Whether Airlock waits for objects of `kind` to become ready. */
export const isWorkload = (kind: string) => kind in VIEWERS;

export interface WaitForWorkloadsOptions {
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/**
 * Polls every workload of `ids` (others are skipped) until all are ready. Throws RolloutFailedError
 * naming the first failed workload, or at the deadline every workload still waiting and for what.
 * An abort ends it at once with the abort reason.
 */
export async function waitForWorkloads(
  client: ObjectSetClient,
  ids: ObjectId[],
  o: WaitForWorkloadsOptions,
): Promise<void> {
  let pending = ids.filter((id) => isWorkload(id.kind));
  const deadline = Date.now() + o.timeoutMs;
  while (pending.length) {
    const still: { id: ObjectId; waitingFor: string }[] = [];
    for (const id of pending) {
      const live = await client.get(id, o.signal);
      throwIfAborted(o.signal);
      if (!live)
        throw new RolloutFailedError(`kubernetes: ${describeId(id)} is gone while waiting for it to become ready`);
      const s = VIEWERS[id.kind](live);
      if ('failed' in s) throw new RolloutFailedError(`kubernetes: rollout of ${describeId(id)} failed: ${s.failed}`);
      if (!s.done) still.push({ id, waitingFor: s.waitingFor });
    }
    if (!still.length) return;
    const summary = still.map((s) => `${describeId(s.id)}: waiting for ${s.waitingFor}`).join('; ');
    o.onProgress?.(summary);
    if (Date.now() >= deadline)
      throw new RolloutFailedError(`kubernetes: not ready after ${Math.round(o.timeoutMs / 1000)} s: ${summary}`);
    pending = still.map((s) => s.id);
    await sleep(o.pollMs ?? 1_000, o.signal);
  }
}
