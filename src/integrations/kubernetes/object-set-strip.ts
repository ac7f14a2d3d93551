// The fields the API server and its controllers own: they change on every write or reconcile, so a
// diff shows none of them and "restored exactly" means equal in everything else.
import type { Json } from './object-set';

const SERVER_METADATA = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink'];

/** Annotations written by controllers, not by whoever applied the object. */
const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

/** A copy of `object` without server-managed fields (metadata above, status, controller annotations). */
export function stripServerFields(object: Json): Json {
  const copy = structuredClone(object);
  delete copy.status;
  const metadata = copy.metadata as Json | undefined;
  if (metadata) {
    for (const f of SERVER_METADATA) delete metadata[f];
    const annotations = metadata.annotations as Record<string, string> | undefined;
    if (annotations) {
      for (const a of CONTROLLER_ANNOTATIONS) delete annotations[a];
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
    }
  }
  return copy;
}

/** A copy without managedFields only: what a snapshot keeps (they are large and restore sets its own). */
export function withoutManagedFields(object: Json): Json {
  const copy = structuredClone(object);
  delete (copy.metadata as Json | undefined)?.managedFields;
  return copy;
}

/**
 * `object` (a copy) without what the Job controller derives from one incarnation's uid: its
 * selector and the uid labels of its pods. A Job created again (a dry-run create, a restore of a
 * Job the change deleted) gets new ones; the old ones would be refused (422).
 */
export function withoutJobIdentity(object: Json): Json {
  const copy = structuredClone(object);
  const spec = copy.spec as Json | undefined;
  if (copy.kind !== 'Job' || !spec) return copy;
  delete spec.selector;
  const labels = ((spec.template as Json | undefined)?.metadata as Json | undefined)?.labels as
    Record<string, string> | undefined;
  for (const l of ['controller-uid', 'batch.kubernetes.io/controller-uid']) delete labels?.[l];
  return copy;
}
