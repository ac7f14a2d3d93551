// In which order an object set is written: what workloads read or are reached through (accounts,
// config, Services) before the workloads, what targets workloads (autoscalers, budgets, ingress)
// after them, as Helm's install order does. Deletions run in the reverse order.
import type { ObjectId } from './object-set';

const APPLY_ORDER = [
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'ServiceAccount',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
];

/** Unknown kinds (custom resources) go last: they usually refer to the objects above. */
const rank = (kind: string) => {
  const i = APPLY_ORDER.indexOf(kind);
  return i < 0 ? APPLY_ORDER.length : i;
};

/** `items` in apply order, stable within a kind (then by name, so the order does not depend on the render's). */
export function inApplyOrder<T>(items: T[], id: (t: T) => ObjectId): T[] {
  return [...items].sort((a, b) => rank(id(a).kind) - rank(id(b).kind) || id(a).name.localeCompare(id(b).name));
}

/** `items` in delete order: the reverse of apply order. */
export function inDeleteOrder<T>(items: T[], id: (t: T) => ObjectId): T[] {
  return inApplyOrder(items, id).reverse();
}

/**
 * Kinds Airlock never deletes, even when the change removes them: a PersistentVolumeClaim's
 * deletion destroys its data, and a restore would bring back an empty volume. Left in place and
 * named, for a human to delete.
 */
export const KEPT_KINDS = new Set(['PersistentVolumeClaim']);

/**
 * The kinds searched for the service's labelled objects that a render no longer contains (plus the
 * kinds of the render itself). PersistentVolumeClaims are left out on purpose: pruning one deletes
 * its data, which a human must decide.
 */
export const PRUNABLE_KINDS: { apiVersion: string; kind: string }[] = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
];
