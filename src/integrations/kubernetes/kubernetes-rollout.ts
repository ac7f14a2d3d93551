// Waiting for a Deployment rollout the way `kubectl rollout status` does (its
// DeploymentStatusViewer): the controller must have observed the latest generation, every replica
// must be updated and available, no old replica may remain; ProgressDeadlineExceeded fails. A
// scale-down is done only when the surplus replicas are gone.
import type { AppsV1Api, V1Deployment, V1DeploymentStatus } from '@kubernetes/client-node';
import { sleep, throwIfAborted } from '../cancellation';
import { withAbortSignal } from './kubernetes-abort';
import { describeObject, RolloutFailedError, withRetry } from './kubernetes-errors';

export type RolloutStatus = { done: true } | { done: false; waitingFor: string } | { done: false; failed: string };

/** What rollout status reads of a Deployment (a V1Deployment, or its JSON). */
export interface DeploymentRolloutView {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: Pick<V1DeploymentStatus, 'observedGeneration' | 'replicas' | 'updatedReplicas' | 'availableReplicas'> & {
    conditions?: { type: string; status?: string; reason?: string; message?: string }[];
  };
}

/** One look at a Deployment: done, still waiting (and for what), or failed (and why). */
export function rolloutStatus(d: DeploymentRolloutView): RolloutStatus {
  const generation = d.metadata?.generation ?? 0;
  const status = d.status ?? {};
  if ((status.observedGeneration ?? 0) < generation)
    return { done: false, waitingFor: 'the deployment controller to observe the new spec' };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      failed: `progress deadline exceeded (ProgressDeadlineExceeded): ${progressing.message ?? 'no message'}`,
    };
  }
  const wanted = d.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  // Pods the ReplicaSet cannot create (quota, admission, an invalid pod) stall the rollout until the
  // progress deadline; say why while waiting, as kubectl describe would.
  const replicaFailure = status.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const why = replicaFailure ? ` (ReplicaFailure ${replicaFailure.reason ?? ''}: ${replicaFailure.message ?? ''})` : '';
  if (updated < wanted) return { done: false, waitingFor: `${updated} of ${wanted} new replicas updated${why}` };
  if (total > updated) return { done: false, waitingFor: `${total - updated} old replica(s) pending termination` };
  if (available < updated) return { done: false, waitingFor: `${available} of ${updated} updated replicas available` };
  // Stricter than kubectl, which calls a scale-down done at once: a restore of 17 replicas to 3 is
  // exact only when the surplus pods (and the capacity they hold) are gone.
  if (total > wanted)
    return { done: false, waitingFor: `${total - wanted} surplus replica(s) terminating after a scale-down` };
  return { done: true };
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called on every look, e.g. to heartbeat the activity. */
  onProgress?: (waitingFor: string) => void;
  /** Ends the wait at once (no further read), rejecting with the abort reason. */
  signal?: AbortSignal;
}

/**
 * Polls until the rollout of `namespace/name` is done; throws RolloutFailedError naming the reason.
 * An abort of `o.signal` ends it at once with the abort reason; the rollout itself goes on.
 */
export async function waitForRollout(
  apps: AppsV1Api,
  namespace: string,
  name: string,
  o: WaitOptions,
): Promise<V1Deployment> {
  const object = describeObject('Deployment', namespace, name);
  const deadline = Date.now() + o.timeoutMs;
  let last = 'the first status';
  for (;;) {
    const d = await withRetry(
      'read',
      object,
      (signal) => apps.readNamespacedDeployment({ name, namespace }, withAbortSignal(signal)),
      {},
      o.signal,
    );
    throwIfAborted(o.signal);
    const s = rolloutStatus(d);
    if (s.done) return d;
    if ('failed' in s) throw new RolloutFailedError(`kubernetes: rollout of ${object} failed: ${s.failed}`);
    last = s.waitingFor;
    o.onProgress?.(last);
    if (Date.now() >= deadline) {
      throw new RolloutFailedError(
        `kubernetes: rollout of ${object} not ready after ${Math.round(o.timeoutMs / 1000)} s: waiting for ${last}`,
      );
    }
    await sleep(o.pollMs ?? 1_000, o.signal);
  }
}
