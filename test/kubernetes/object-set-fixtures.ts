// Renders of one service for the object-set tests: a ConfigMap the pods read, a Deployment with a
// liveness probe and a memory request, and a Service, each change of the story a small edit.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { REPO_ROOT } from '../helpers/tools';
import type { TestCluster } from '../helpers/kubernetes-cluster';

export interface RenderOptions {
  replicas?: number;
  memory?: string;
  probePath?: string;
  config?: Record<string, string>;
  /** Extra environment variables of the app container (a field a change adds). */
  env?: Record<string, string>;
  /** Names of extra Services (beside the one named after the service). */
  extraServices?: string[];
}

export function service(namespace: string, name: string, selectorApp: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: selectorApp }, ports: [{ port: 80, targetPort: 8080 }] },
  } as KubernetesObject;
}

export function configMap(namespace: string, name: string, data: Record<string, string>): KubernetesObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data } as KubernetesObject;
}

export function deployment(namespace: string, name: string, o: RenderOptions = {}): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: o.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'backend' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: `registry.example/${name}:v1`,
              ports: [{ containerPort: 8080 }],
              envFrom: [{ configMapRef: { name: `${name}-config` } }],
              ...(o.env ? { env: Object.entries(o.env).map(([k, v]) => ({ name: k, value: v })) } : {}),
              livenessProbe: { httpGet: { path: o.probePath ?? '/healthz', port: 8080 }, periodSeconds: 10 },
              resources: { requests: { memory: o.memory ?? '64Mi', cpu: '10m' } },
            },
          ],
        },
      },
    },
  } as KubernetesObject;
}

/** The render of `name` in `namespace`. */
export function render(namespace: string, name: string, o: RenderOptions = {}): KubernetesObject[] {
  return [
    configMap(namespace, `${name}-config`, o.config ?? { LOG_LEVEL: 'info' }),
    deployment(namespace, name, o),
    service(namespace, name, name),
    ...(o.extraServices ?? []).map((s) => service(namespace, s, name)),
  ];
}

/** docs/kubernetes-object-set-rbac.yaml: the rights the tests' airlock user has for object sets. */
export async function grantObjectSetRights(cluster: TestCluster): Promise<void> {
  await cluster.applyYaml(readFileSync(resolve(REPO_ROOT, 'docs/kubernetes-object-set-rbac.yaml'), 'utf8'));
}
