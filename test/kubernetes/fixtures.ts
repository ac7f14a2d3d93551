// What the Kubernetes tests put in the test cluster: namespaces, a read-only user, the free-memory
// reader's ClusterRole for its own user, and per-test services (a Deployment, its Service, and the
// deployer's rights on exactly those names, as `airlock rbac` generates them).
import type { KubeConfig } from '@kubernetes/client-node';
import { createKubernetesDeployer } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { getRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import type { RetryOptions } from '../../src/integrations/kubernetes/kubernetes-errors';
import type { Deployer } from '../../src/integrations/deployer';
import type { Environment } from '../../src/workflows/messages';
import { kubernetesSchema, type KubernetesSettings } from '../../src/policy/config/kubernetes-schema';
import {
  capacityReaderRbac,
  deployerRbac,
  rbacYaml,
  type RbacSubject,
} from '../../src/integrations/kubernetes/kubernetes-rbac';
import type { ClusterUser, TestCluster } from '../helpers/kubernetes-cluster';

export const NAMESPACE: Record<Environment, string> = { staging: 'staging', production: 'production' };

/** The test cluster's user for ClusterUser 'airlock'. */
export const DEPLOYER: RbacSubject = { kind: 'User', name: 'airlock-deployer' };

/** The generated Role and RoleBinding of `service` in the namespace of `environment`. */
export const deployerRightsYaml = (service: string, environment: Environment) =>
  rbacYaml(
    ['airlock rbac for one service'],
    deployerRbac({
      namespaces: [NAMESPACE[environment]],
      stagingNamespace: NAMESPACE.staging,
      services: [service],
      subject: DEPLOYER,
    }),
  );

/**
 * Namespaces, a read-only user, and airlock-capacity-reader for user airlock-capacity (ClusterUser
 * 'capacity'); the deployer's rights come with each service (serviceYaml).
 */
export async function prepareCluster(cluster: TestCluster): Promise<void> {
  await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata: { name: staging }
---
apiVersion: v1
kind: Namespace
metadata: { name: production }
`);
  await cluster.applyYaml(
    rbacYaml(['capacity reader'], capacityReaderRbac({ kind: 'User', name: 'airlock-capacity' })),
  );
  for (const ns of Object.values(NAMESPACE)) {
    await cluster.applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: deployment-reader, namespace: ${ns} }
rules: [{ apiGroups: [apps], resources: [deployments], verbs: [get, list, watch] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: read-only, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployment-reader }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: read-only }]
`);
  }
}

export interface ServiceFixture {
  service: string;
  environment: Environment;
  replicas?: number;
  version?: string;
  progressDeadlineSeconds?: number;
  nodeSelector?: Record<string, string>;
  memoryRequest?: string;
}

/**
 * A Deployment `service` (container "app", image registry.example/<service>:<version>), a Service
 * selecting app=<service>, and the deployer's generated rights on `service` and its canary.
 */
export function serviceYaml(f: ServiceFixture): string {
  const ns = NAMESPACE[f.environment];
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${f.service}, namespace: ${ns}, labels: { app: ${f.service} } }
spec:
  replicas: ${f.replicas ?? 4}
  ${f.progressDeadlineSeconds ? `progressDeadlineSeconds: ${f.progressDeadlineSeconds}` : ''}
  selector: { matchLabels: { app: ${f.service} } }
  template:
    metadata: { labels: { app: ${f.service}, tier: backend } }
    spec:
      ${f.nodeSelector ? `nodeSelector: ${JSON.stringify(f.nodeSelector)}` : ''}
      containers:
        - name: app
          image: registry.example/${f.service}:${f.version ?? 'v1'}
          ports: [{ containerPort: 8080 }]
          env: [{ name: MODE, value: stable }]
          resources: { requests: { memory: ${f.memoryRequest ?? '64Mi'}, cpu: 10m } }
        - name: sidecar
          image: registry.example/log-shipper:3.1
---
apiVersion: v1
kind: Service
metadata: { name: ${f.service}, namespace: ${ns} }
spec:
  selector: { app: ${f.service} }
  ports: [{ port: 80, targetPort: 8080 }]
${deployerRightsYaml(f.service, f.environment)}`;
}

/** The policy's kubernetes section for the test cluster (appended with testPolicyYaml's `extra`). */
export const KUBERNETES_POLICY = `kubernetes:
  staging: { context: airlock, namespace: staging }
  production: { context: airlock, namespace: production }
  containers: [app]
  rolloutTimeoutMinutes: 2
  capacityContext: capacity
`;

export const SETTINGS: KubernetesSettings = kubernetesSchema.parse({
  staging: { namespace: NAMESPACE.staging },
  production: { namespace: NAMESPACE.production },
  containers: ['app'],
  rolloutTimeoutMinutes: 2,
});

export function deployerFor(
  kubeconfig: KubeConfig,
  settings: Partial<KubernetesSettings> = {},
  retry: RetryOptions = {},
): Deployer {
  return createKubernetesDeployer({
    kubeconfig,
    settings: () => ({ ...SETTINGS, ...settings }),
    pollMs: 200,
    retry: { initialDelayMs: 50, ...retry },
  });
}

export function deployerAs(
  cluster: TestCluster,
  user: ClusterUser = 'airlock',
  settings: Partial<KubernetesSettings> = {},
): Deployer {
  return deployerFor(cluster.kubeconfig(user), settings);
}

export interface DeploymentJson {
  metadata: {
    generation: number;
    resourceVersion: string;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; operation: string }[];
  };
  spec: {
    replicas: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: { containers: { name: string; image: string }[] };
    };
  };
  status: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
  };
}

/** The Deployment exactly as the API server stores it (null when absent). */
export async function readDeployment(
  cluster: TestCluster,
  environment: Environment,
  name: string,
): Promise<DeploymentJson | null> {
  try {
    return await getRawJson<DeploymentJson>(
      cluster.kubeconfig('admin'),
      `/apis/apps/v1/namespaces/${NAMESPACE[environment]}/deployments/${name}`,
    );
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    throw err;
  }
}

/** Images of the Running, Ready pods matching `selector`, counted. */
export async function readyPodImages(
  cluster: TestCluster,
  environment: Environment,
  selector: string,
): Promise<Record<string, number>> {
  const pods = await cluster.admin.core.listNamespacedPod({
    namespace: NAMESPACE[environment],
    labelSelector: selector,
  });
  const out: Record<string, number> = {};
  for (const p of pods.items) {
    if (p.metadata?.deletionTimestamp) continue;
    if (!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const image = p.spec?.containers.find((c) => c.name === 'app')?.image ?? '?';
    out[image] = (out[image] ?? 0) + 1;
  }
  return out;
}
