// Namespaces of their own for each test case on one shared test cluster: created with the
// deployer's RBAC of docs/ bound in them, read back whole (every object of the kinds a render of
// the tests holds, as the API server serves it), compared, and emptied of workloads afterwards.
import assert from 'node:assert/strict';
import type { TestCluster } from '../helpers/kubernetes-cluster';
import { getRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import { stripServerFields } from '../../src/integrations/kubernetes/object-set-strip';
import { idKey, idOf, type Json, type ObjectId } from '../../src/integrations/kubernetes/object-set';
import type { Environment } from '../../src/workflows/messages';

export interface DeploymentJson extends Json {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { replicas: number; template: { spec: Json } };
  status?: { availableReplicas?: number; updatedReplicas?: number };
}

const LISTED = [
  ['apps/v1', 'Deployment', 'deployments'],
  ['v1', 'Service', 'services'],
  ['v1', 'ConfigMap', 'configmaps'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'],
] as const;
const root = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
const pluralOf = (kind: string) => LISTED.find((l) => l[1] === kind)![2];

/** Live equals `expected` in everything but server-managed fields: same identities, same objects. */
export function assertSameObjects(live: Map<string, Json>, expected: Map<string, Json>, what: string) {
  assert.deepEqual([...live.keys()].sort(), [...expected.keys()].sort(), `${what}: no object added or missing`);
  for (const [key, object] of expected)
    assert.deepEqual(stripServerFields(live.get(key)!), stripServerFields(object), `${what}: ${key}`);
}

export const inNamespace = (objects: Map<string, Json>, namespace: string) =>
  new Map([...objects].filter(([, o]) => idOf(o).namespace === namespace));

export function caseNamespaces(cluster: TestCluster) {
  const admin = cluster.kubeconfig('admin');

  /** Every object of the listed kinds in `namespaces`, exactly as the API server serves it, by idKey. */
  async function liveObjects(namespaces: string[]): Promise<Map<string, Json>> {
    const out = new Map<string, Json>();
    for (const namespace of namespaces)
      for (const [apiVersion, kind, plural] of LISTED) {
        const list = await getRawJson<{ items: Json[] }>(
          admin,
          `${root(apiVersion)}/namespaces/${namespace}/${plural}`,
        );
        for (const item of list.items) {
          const o = { apiVersion, kind, ...item };
          if (idOf(o).name !== 'kube-root-ca.crt') out.set(idKey(idOf(o)), o);
        }
      }
    return out;
  }

  return {
    liveObjects,

    /** One object as served, or null. */
    async liveObject(id: ObjectId): Promise<Json | null> {
      try {
        return await getRawJson(
          admin,
          `${root(id.apiVersion)}/namespaces/${id.namespace}/${pluralOf(id.kind)}/${id.name}`,
        );
      } catch (err) {
        if ((err as { code?: number }).code === 404) return null;
        throw err;
      }
    },

    /** `<slug>-<run>-<environment>`, each with docs' object-set RBAC bound for the airlock user. */
    async create(slug: string, run: number): Promise<Record<Environment, string>> {
      const ns = { staging: `${slug}-${run}-staging`, production: `${slug}-${run}-production` };
      for (const n of Object.values(ns))
        await cluster.applyYaml(
          [
            `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }`,
            // Object sets write objects named by the render: docs/kubernetes-object-set-rbac.yaml's
            // ClusterRole, which covers the Deployments and canaries of the rendered services too.
            `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: airlock-object-set, namespace: ${n} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: airlock-object-set }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: airlock-deployer }]`,
          ].join('\n---\n'),
        );
      return ns;
    },

    /** Waits until every Deployment of `namespace` has all its replicas available (after a hand-made apply). */
    async settled(namespace: string): Promise<void> {
      for (const deadline = Date.now() + 60_000; ;) {
        const deployments = [...(await liveObjects([namespace])).values()] as DeploymentJson[];
        const waiting = deployments.filter(
          (d) => d.kind === 'Deployment' && d.status?.availableReplicas !== d.spec.replicas,
        );
        if (!waiting.length) return;
        assert.ok(Date.now() < deadline, `not ready: ${waiting.map((w) => idKey(idOf(w))).join(', ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },

    /** The kwok node has room for 110 pods: a case's Deployments go when it ends. */
    async removeWorkloads(ns: Record<Environment, string>): Promise<void> {
      for (const namespace of Object.values(ns))
        await cluster.admin.apps.deleteCollectionNamespacedDeployment({ namespace, propagationPolicy: 'Background' });
    },
  };
}
