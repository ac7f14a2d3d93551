// An object set: the Kubernetes objects of one service in one namespace, as rendered for one
// environment (kustomize, Helm, plain manifests). Airlock owns the set through one label, so the
// objects a render no longer contains can be found and pruned, and nothing else ever is.
import type { KubernetesObject } from '@kubernetes/client-node';
import { DeployRejectedError } from '../deployer';

/**
 * Marks every object Airlock applied for a service. Pruning selects on it, in the set's namespace
 * only, over the kinds of PRUNABLE_KINDS (kubectl's label-based `--prune` with an allowlist): an
 * ApplySet would need a parent object and a kinds annotation kept in step on every write, and
 * buys nothing while one service's set is applied only by Airlock.
 */
export const SERVICE_LABEL = 'airlock.dev/service';

/** The field manager of every server-side apply. */
export const FIELD_MANAGER = 'airlock';

/** A plain JSON object as the API server sends it. */
export type Json = Record<string, unknown>;

/** Which object: apiVersion and kind, namespace and name. */
export interface ObjectId {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** What an object-set call acts on: `desired` is the render of one service for one namespace. */
export interface ObjectSet {
  namespace: string;
  service: string;
  desired: KubernetesObject[];
  /** The repo file each object was rendered from, by idKey: refusals name it beside the object. */
  sources?: ReadonlyMap<string, string>;
}

/** A call's options; `signal` stops it at once (see DeployCallOptions in ../deployer). */
export interface ObjectSetCallOptions {
  signal?: AbortSignal;
  /** Called while waiting for workloads (activities heartbeat here). */
  onProgress?: (message: string) => void;
}

/** Refused input or a refused request that no retry can fix: names the object and the reason. */
export class ObjectRejectedError extends DeployRejectedError {}

/** `err` naming the repo file its object was rendered from, when it is a refusal of that object. */
export function withSource(err: unknown, source: string | undefined): unknown {
  if (!source || !(err instanceof DeployRejectedError)) return err;
  return new ObjectRejectedError(`${err.message} (rendered from ${source})`);
}

/** "Deployment staging/payment-service" — as describeObject names objects. */
export function describeId(id: ObjectId): string {
  return `${id.kind} ${id.namespace}/${id.name}`;
}

/** The identity of an object; `namespace` fills in a missing metadata.namespace. */
export function idOf(object: KubernetesObject | Json, namespace?: string): ObjectId {
  const o = object as KubernetesObject;
  return {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    namespace: o.metadata?.namespace ?? namespace ?? '',
    name: o.metadata?.name ?? '',
  };
}

/** One stable string per identity (map keys, sorting). Group-less: an object moving API version is the same object. */
export function idKey(id: ObjectId): string {
  const group = id.apiVersion.includes('/') ? id.apiVersion.split('/')[0] : '';
  return `${group}/${id.kind}/${id.namespace}/${id.name}`;
}
