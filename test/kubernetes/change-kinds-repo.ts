// The repos of the change-kind matrix (change-kinds.test.ts): one service per source kind, each
// file a template, so every case of the matrix is "these files at base, these edits at head".
// - notification-service (kustomize): a Deployment reading a ConfigMap, its Service, and a worker
//   Deployment with an HPA; overlays per environment set the replicas (`replicas:`).
// - search-service (Helm): the story's chart with per-environment values (render-repo.ts).
// - payment-service (plain manifests): a Deployment and Service, a JSON ConfigMap, a PDB.
import {
  BASE_FILES,
  notificationDeployment as storyDeployment,
  paymentDeployment as storyPayment,
  type Files,
  type NotificationShape,
} from './render-repo';

/** The story's Deployment, reading notification-config. */
export const notificationDeployment = (s: Omit<NotificationShape, 'configMap'> = {}) =>
  storyDeployment({ ...s, configMap: 'notification-config' });

export const notificationConfig = (smtpHost = 'smtp.internal') => `apiVersion: v1
kind: ConfigMap
metadata: { name: notification-config }
data: { SMTP_HOST: ${smtpHost} }
`;

export const notificationWorker = (
  hpa: { min: number; max: number },
  worker: { replicas?: number; version?: string } = {},
) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: notification-worker, labels: { app: notification-worker } }
spec:
  replicas: ${worker.replicas ?? 2}
  selector: { matchLabels: { app: notification-worker } }
  template:
    metadata: { labels: { app: notification-worker } }
    spec: { containers: [{ name: app, image: "registry.example/notification-worker:${worker.version ?? '1.4.0'}", resources: { requests: { cpu: 50m } } }] }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: notification-worker }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: notification-worker }
  minReplicas: ${hpa.min}
  maxReplicas: ${hpa.max}
  metrics:
    - type: Resource
      resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } }
`;

export const kustomizeBase = (resources: string[]) => `resources: [${resources.join(', ')}]\n`;
export const BASE_RESOURCES = ['deployment.yaml', 'service.yaml', 'config.yaml', 'worker.yaml'];

export const overlay = (replicas: number) => `resources: [../../base]
replicas:
  - name: notification-service
    count: ${replicas}
`;

const NOTIFICATION: Files = {
  'k8s/base/kustomization.yaml': kustomizeBase(BASE_RESOURCES),
  'k8s/base/deployment.yaml': notificationDeployment(),
  'k8s/base/service.yaml': BASE_FILES['k8s/base/notification-service/service.yaml'],
  'k8s/base/config.yaml': notificationConfig(),
  // Within min..max before and after every HPA edit: no autoscaler would rescale it.
  'k8s/base/worker.yaml': notificationWorker({ min: 1, max: 4 }),
  'k8s/overlays/staging/kustomization.yaml': overlay(1),
  'k8s/overlays/production/kustomization.yaml': overlay(3),
};

const SEARCH: Files = Object.fromEntries(Object.entries(BASE_FILES).filter(([p]) => p.startsWith('charts/')));

/** The payment-service Deployment reading payment-limits, and its Service. */
export const paymentDeployment = (version: string) => storyPayment(version, 'payment-limits');

export const paymentLimits = (maxAmount: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'payment-limits' }, data: { maxAmount } });

const PAYMENT: Files = {
  'deploy/payment-service/deployment.yaml': paymentDeployment('3.1.0'),
  'deploy/payment-service/limits.json': paymentLimits('10000'),
  'deploy/payment-service/pdb.yml': `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: payment-service }
spec: { minAvailable: 1, selector: { matchLabels: { app: payment-service } } }
`,
};

/** Every service of the matrix at its base; a case overrides files of it. */
export const KINDS_BASE: Files = { 'README.md': '# infra\n', ...NOTIFICATION, ...SEARCH, ...PAYMENT };
