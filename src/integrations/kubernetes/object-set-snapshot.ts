// The snapshot of an object set: each object exactly as the API server serves it (raw JSON, every
// field, unknown ones included), or null where there is none, so a rollback can put back what
// was there and delete what was not.
import type { KubeConfig } from '@kubernetes/client-node';
import { createObjectSetClient } from './object-set-client';
import { withoutManagedFields } from './object-set-strip';
import { describeId, ObjectRejectedError, type Json, type ObjectId } from './object-set';

export interface ObjectSnapshot {
  id: ObjectId;
  /** The live object without metadata.managedFields (their size; restore writes its own), or null. */
  object: Json | null;
}

/** Refuses Secrets: a snapshot lands in Temporal history, readable in the Web UI. */
export function refuseSecrets(ids: ObjectId[]): void {
  const secrets = ids.filter((id) => id.kind === 'Secret' && id.apiVersion === 'v1');
  if (secrets.length)
    throw new ObjectRejectedError(
      `kubernetes: ${secrets.map(describeId).join(', ')}: Secrets are never snapshotted or restored (their data would be copied into Temporal history)`,
    );
}

/** Reads every identity of `ids` (e.g. the ids of a diff: desired and to-be-deleted objects). */
export async function snapshotObjects(
  kc: KubeConfig,
  ids: ObjectId[],
  o: { signal?: AbortSignal } = {},
): Promise<ObjectSnapshot[]> {
  refuseSecrets(ids);
  const client = createObjectSetClient(kc);
  const snapshot: ObjectSnapshot[] = [];
  for (const id of ids) {
    const live = await client.get(id, o.signal);
    snapshot.push({ id, object: live ? withoutManagedFields(live) : null });
  }
  return snapshot;
}
