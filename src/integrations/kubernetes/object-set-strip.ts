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
