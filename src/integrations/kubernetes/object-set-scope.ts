// The scope guard: an object set may only hold namespaced objects of its own namespace, and no
// Secrets. Checked before anything is written, and every problem is named in one error, so a bad
// render changes nothing.
//
// Why no Secrets: diffs and snapshots travel through Temporal's history (activity results), which
// anyone with the Web UI can read. A Secret's data must never be copied there; Secrets are
// delivered by the cluster's own secret tooling (External Secrets, Sealed Secrets, CSI drivers).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectSetClient } from './object-set-client';
import { inApplyOrder } from './object-set-order';
import { stripServerFields } from './object-set-strip';
import {
  idKey,
  idOf,
  ObjectRejectedError,
  SERVICE_LABEL,
  type Json,
  type ObjectId,
  type ObjectSet,
} from './object-set';

/** One object as Airlock writes it: in the set's namespace, labelled for the service. */
export interface ScopedObject {
  id: ObjectId;
  body: Json;
  /** The repo file it was rendered from, when the set says. */
  source?: string;
}

// Known without asking the server; discovery catches the rest (custom cluster-scoped kinds).
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'APIService',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

// A label value: at most 63 characters, alphanumeric at both ends.
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** " (from <file>)" when the set knows which repo file rendered the object. */
const fromFile = (set: ObjectSet, id: ObjectId) => {
  const source = set.sources?.get(idKey(id));
  return source ? ` (from ${source})` : '';
};

function refuse(set: ObjectSet, problems: string[]): never {
  throw new ObjectRejectedError(
    `kubernetes: object set of service ${set.service} in namespace ${set.namespace} refused, nothing was applied:\n- ${problems.join('\n- ')}`,
  );
}

/** Problems that need no request: identity, namespace, Secrets, duplicates, another service's label. */
function localProblems(set: ObjectSet): string[] {
  const problems: string[] = [];
  if (!LABEL_VALUE.test(set.service)) problems.push(`service name "${set.service}" is not a valid label value`);
  const seen = new Set<string>();
  set.desired.forEach((o, i) => {
    const id = idOf(o, set.namespace);
    const name = `${id.kind || `object #${i + 1} (no kind)`}/${id.name || '(no name)'}${fromFile(set, id)}`;
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
      problems.push(`${name}: apiVersion, kind and metadata.name are required (generateName is not supported)`);
      return;
    }
    if (o.kind === 'Secret' && o.apiVersion === 'v1')
      problems.push(`${name}: Secrets are refused (their data would be copied into Temporal history)`);
    else if (CLUSTER_SCOPED.has(o.kind))
      problems.push(`${name}: cluster-scoped kind, outside namespace ${set.namespace}`);
    else if (id.namespace !== set.namespace)
      problems.push(`${name}: in namespace ${id.namespace}, not in the environment's namespace ${set.namespace}`);
    const owner = o.metadata.labels?.[SERVICE_LABEL];
    if (owner !== undefined && owner !== set.service)
      problems.push(`${name}: labelled ${SERVICE_LABEL}=${owner}, another service's object`);
    const key = idKey(id);
    if (seen.has(key)) problems.push(`${name}: appears twice in the render`);
    seen.add(key);
  });
  return problems;
}

/**
 * The checks that need no API server (identity, namespace, Secrets, known cluster-scoped kinds,
 * duplicates, another service's label): the whole scope guard of the simulation, which has no
 * discovery. Throws ObjectRejectedError naming every refused object.
 */
export function refuseLocalProblems(set: ObjectSet): void {
  const problems = localProblems(set);
  if (problems.length) refuse(set, problems);
}

/**
 * The set's objects as Airlock writes them, in apply order: namespace filled in, server-managed
 * fields dropped, SERVICE_LABEL added. Throws ObjectRejectedError (non-retryable) naming every
 * refused object; only discovery reads are sent before that.
 */
export async function scopeObjectSet(
  client: ObjectSetClient,
  set: ObjectSet,
  signal?: AbortSignal,
): Promise<ScopedObject[]> {
  const problems = localProblems(set);
  if (problems.length) refuse(set, problems);
  for (const o of set.desired) {
    const id = idOf(o, set.namespace);
    const r = await client.resource(id.apiVersion, id.kind, signal).catch((err: unknown) => {
      if (err instanceof ObjectRejectedError) return null;
      throw err;
    });
    const name = `${id.kind}/${id.name}${fromFile(set, id)}`;
    if (!r) problems.push(`${name}: kind ${id.kind} of ${id.apiVersion} is not served by this API server`);
    else if (!r.namespaced) problems.push(`${name}: cluster-scoped kind, outside namespace ${set.namespace}`);
  }
  if (problems.length) refuse(set, problems);
  return inApplyOrder(
    set.desired.map((o) => scopedObject(set, o)),
    (s) => s.id,
  );
}

/** One rendered object as Airlock writes it: server-managed fields dropped, namespace and SERVICE_LABEL set. */
export function scopedObject(set: ObjectSet, o: KubernetesObject): ScopedObject {
  const body = stripServerFields(o as unknown as Json);
  const metadata = body.metadata as Json & { labels?: Record<string, string> };
  metadata.namespace = set.namespace;
  metadata.labels = { ...metadata.labels, [SERVICE_LABEL]: set.service };
  const id = idOf(o, set.namespace);
  return { id, body, source: set.sources?.get(idKey(id)) };
}
