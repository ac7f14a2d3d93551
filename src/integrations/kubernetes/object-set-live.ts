// The service's objects that are live in the namespace: those carrying SERVICE_LABEL=<service>,
// over PRUNABLE_KINDS and the kinds of the render. These are what a render that no longer
// contains them deletes, so the selection is narrow on purpose.
import type { ObjectSetClient } from './object-set-client';
import { KEPT_KINDS, PRUNABLE_KINDS } from './object-set-order';
import { idOf, idKey, SERVICE_LABEL, type Json, type ObjectId, type ObjectSet } from './object-set';

interface OwnedMetadata {
  ownerReferences?: { controller?: boolean }[];
  deletionTimestamp?: string;
}

/** Live objects labelled for `set.service` in `set.namespace` whose identity is not in `desired`. */
export async function liveObjectsNotDesired(
  client: ObjectSetClient,
  set: ObjectSet,
  desired: ObjectId[],
  signal?: AbortSignal,
): Promise<Json[]> {
  const kinds = new Map(PRUNABLE_KINDS.map((k) => [k.kind, k]));
  for (const id of desired)
    if (!kinds.has(id.kind) && !KEPT_KINDS.has(id.kind))
      kinds.set(id.kind, { apiVersion: id.apiVersion, kind: id.kind });
  const selector = `${SERVICE_LABEL}=${set.service}`;
  const lists = await Promise.all(
    [...kinds.values()].map((k) => client.list(k.apiVersion, k.kind, set.namespace, selector, signal)),
  );
  const wanted = new Set(desired.map(idKey));
  return lists.flat().filter((o) => {
    const metadata = o.metadata as OwnedMetadata | undefined;
    // An object a controller made (a Job of a CronJob) goes with its owner, and one already being
    // deleted is on its way out: neither is Airlock's to delete.
    if (metadata?.ownerReferences?.some((r) => r.controller)) return false;
    if (metadata?.deletionTimestamp) return false;
    return !wanted.has(idKey(idOf(o)));
  });
}
