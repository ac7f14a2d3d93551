// Restoring a snapshot: live becomes equal to it in everything but server-managed fields. Objects
// that existed are written back whole (PUT over live, or re-created when the change deleted
// them): a PUT replaces every field, so fields and labels the change added are gone too. Objects
// that did not exist are deleted. Writes go first, in apply order (config before the workloads
// that read it; the old version serves before the new goes), then deletions, then the wait.
import type { KubeConfig } from '@kubernetes/client-node';
import { createObjectSetClient } from './object-set-client';
import { deleteObjects } from './object-set-deletion';
import { inApplyOrder } from './object-set-order';
import { withoutJobIdentity } from './object-set-strip';
import { refuseSecrets, type ObjectSnapshot } from './object-set-snapshot';
import { waitForWorkloads } from './workload-readiness';
import type { Json, ObjectId, ObjectSetCallOptions } from './object-set';

export interface RestoreOptions extends ObjectSetCallOptions {
  /** How long workloads may take to become ready (and deleted objects to go). Default 10 min. */
  timeoutMs?: number;
  pollMs?: number;
}

export interface RestoreResult {
  restored: ObjectId[];
  deleted: ObjectId[];
}

/** The snapshotted object as a write: no identity of the old incarnation (uid) and nothing server-owned. */
function restoreBody(object: Json): Json {
  const body = structuredClone(object);
  delete body.status;
  const metadata = (body.metadata ?? {}) as Json;
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'selfLink', 'managedFields'])
    delete metadata[f];
  for (const f of ['deletionTimestamp', 'deletionGracePeriodSeconds']) delete metadata[f];
  return body;
}

export async function restoreObjects(
  kc: KubeConfig,
  snapshot: ObjectSnapshot[],
  o: RestoreOptions = {},
): Promise<RestoreResult> {
  refuseSecrets(snapshot.map((s) => s.id));
  const client = createObjectSetClient(kc);
  const wait = { timeoutMs: o.timeoutMs ?? 10 * 60_000, pollMs: o.pollMs, signal: o.signal, onProgress: o.onProgress };
  const existed = inApplyOrder(
    snapshot.filter((s): s is { id: ObjectId; object: Json } => s.object !== null),
    (s) => s.id,
  );
  // A Job the change deleted is created anew: without its old incarnation's selector and uid labels.
  for (const s of existed)
    await client.put(
      s.id,
      (live) => (live ? restoreBody(s.object) : withoutJobIdentity(restoreBody(s.object))),
      o.signal,
    );
  const deleted = await deleteObjects(
    client,
    snapshot.filter((s) => s.object === null).map((s) => s.id),
    wait,
  );
  const restored = existed.map((s) => s.id);
  await waitForWorkloads(client, restored, wait);
  return { restored, deleted };
}
