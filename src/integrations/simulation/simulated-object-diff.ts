// The diff the simulation shows approvers: the objects of a service before and after a step, as
// the same unified YAML diff the real deployer prints (patchOf, env values redacted), so a simulated preview reads
// exactly like a cluster's. Pure: the simulation's objects have no server defaults to dry-run.
import { isDeepStrictEqual } from 'node:util';
import { diffTextAndDigest, type ObjectDiff } from '../kubernetes/object-set-diff';
import { inApplyOrder } from '../kubernetes/object-set-order';
import { idKey, idOf, type Json } from '../kubernetes/object-set';

export interface SimulatedObjectDiff {
  /** In apply order; deletions last (in reverse apply order, as a prune deletes). */
  objects: ObjectDiff[];
  /** Unified diff of every changed object, env values redacted; empty when nothing changes. */
  text: string;
  /** sha256 (hex) of the diff with the env values. */
  digest: string;
}

/** `before` → `after`: objects only in `after` are created, only in `before` deleted. */
export function diffSimulatedObjects(before: Json[], after: Json[]): SimulatedObjectDiff {
  const was = new Map(before.map((o) => [idKey(idOf(o)), o]));
  const kept = new Set(after.map((o) => idKey(idOf(o))));
  const objects: ObjectDiff[] = inApplyOrder(after, (o) => idOf(o)).map((o) => {
    const prior = was.get(idKey(idOf(o)));
    if (!prior) return { id: idOf(o), action: 'create', after: o };
    return { id: idOf(o), action: isDeepStrictEqual(prior, o) ? 'unchanged' : 'update', before: prior, after: o };
  });
  const gone = before.filter((o) => !kept.has(idKey(idOf(o))));
  for (const o of inApplyOrder(gone, (g) => idOf(g)).reverse())
    objects.push({ id: idOf(o), action: 'delete', before: o });
  return { objects, ...diffTextAndDigest(objects) };
}
