// A throwaway infrastructure repo shaped like the story's (seed/incident-report.txt): the
// notification-service as a kustomize base with staging and production overlays, the search-service
// as a Helm chart with per-environment values, the payment-service as plain manifests. Two commits:
// BASE as it was, HEAD with the agent's changes (probe failureThreshold 1, memory 512Mi -> 2Gi,
// replicas 3 -> 17 through the overlay's `replicas:` field, a Helm values change, a manifest
// removed and one added).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type Files = Record<string, string | null>;

export interface NotificationShape {
  failureThreshold?: number;
  memory?: string;
  /** A ConfigMap the container reads its environment from. */
  configMap?: string;
}

/** The notification-service Deployment of the story; the defaults are BASE's. */
export const notificationDeployment = (s: NotificationShape = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: notification-service
  labels: { app: notification-service }
spec:
  replicas: 3
  selector: { matchLabels: { app: notification-service } }
  template:
    metadata: { labels: { app: notification-service } }
    spec:
      containers:
        - name: app
          image: registry.example/notification-service:1.4.0
${s.configMap ? `          envFrom: [{ configMapRef: { name: ${s.configMap} } }]\n` : ''}          resources: { limits: { memory: ${s.memory ?? '512Mi'} } }
          livenessProbe:
            httpGet: { path: /healthz, port: 8080 }
            failureThreshold: ${s.failureThreshold ?? 3}
`;

const deployment = (failureThreshold: number) => notificationDeployment({ failureThreshold });

const productionOverlay = (replicas: number, memory: string | null) => `resources: [../../base/notification-service]
replicas:
  - name: notification-service
    count: ${replicas}
${
  memory
    ? `patches:
  - path: memory.yaml
`
    : ''
}`;

const memoryPatch = (memory: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: notification-service }
spec:
  template:
    spec:
      containers:
        - name: app
          resources: { limits: { memory: ${memory} } }
`;

const helmDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: { app: {{ .Chart.Name }}, release: {{ .Release.Name }} }
spec:
  replicas: {{ .Values.replicas }}
  selector: { matchLabels: { app: {{ .Chart.Name }} } }
  template:
    metadata: { labels: { app: {{ .Chart.Name }} } }
    spec:
      containers:
        - name: search
          image: "registry.example/search-service:{{ .Values.image.tag }}"
          resources: { limits: { memory: {{ .Values.memory }} } }
`;

/** The payment-service Deployment and Service; `configMap`: one the container reads its environment from. */
export const paymentDeployment = (version: string, configMap?: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: payment-service }
spec:
  replicas: 2
  selector: { matchLabels: { app: payment-service } }
  template:
    metadata: { labels: { app: payment-service } }
    spec: { containers: [{ name: app, image: "registry.example/payment-service:${version}"${configMap ? `, envFrom: [{ configMapRef: { name: ${configMap} } }]` : ''} }] }
---
apiVersion: v1
kind: Service
metadata: { name: payment-service }
spec: { selector: { app: payment-service }, ports: [{ port: 80 }] }
`;

export const BASE_FILES: Files = {
  'README.md': '# infra\n',
  'k8s/base/notification-service/kustomization.yaml': `resources: [deployment.yaml, service.yaml]
configMapGenerator:
  - name: notification-config
    literals: [SMTP_HOST=smtp.internal]
`,
  'k8s/base/notification-service/deployment.yaml': deployment(3),
  'k8s/base/notification-service/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: notification-service }
spec:
  selector: { app: notification-service }
  ports: [{ port: 80, targetPort: 8080 }]
`,
  'k8s/overlays/staging/kustomization.yaml': `resources: [../../base/notification-service]
replicas:
  - name: notification-service
    count: 1
`,
  'k8s/overlays/production/kustomization.yaml': productionOverlay(3, null),
  'charts/search-service/Chart.yaml': `apiVersion: v2
name: search-service
version: 0.1.0
# Needs the pinned build's real Kubernetes version (without its -ldflags Helm assumes v1.20).
kubeVersion: ">= 1.30.0-0"
`,
  'charts/search-service/values.yaml': 'replicas: 1\nmemory: 256Mi\nimage: { tag: "2.0.0" }\n',
  'charts/search-service/values-staging.yaml': 'replicas: 2\n',
  'charts/search-service/values-production.yaml': 'replicas: 4\nmemory: 512Mi\n',
  'charts/search-service/templates/deployment.yaml': helmDeployment,
  'charts/search-service/templates/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: {{ .Release.Name }} }
spec:
  selector: { app: {{ .Chart.Name }} }
  ports: [{ port: 80 }]
`,
  'charts/search-service/templates/tests/test-connection.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: { "helm.sh/hook": test }
spec: { containers: [{ name: wget, image: busybox }] }
`,
  'deploy/payment-service/deployment.yaml': paymentDeployment('3.1.0'),
  'deploy/payment-service/limits.json': JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'payment-limits' },
    data: { maxAmount: '10000' },
  }),
  'deploy/payment-service/policies.yml': `apiVersion: v1
kind: List
items:
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: { name: payment-service }
    spec: { minAvailable: 1, selector: { matchLabels: { app: payment-service } } }
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: { name: payment-reader }
    rules: []
`,
  'deploy/payment-service/notes.txt': 'not a manifest\n',
  'deploy/payment-service/old/ignored.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ignored }\n',
};

/** The agent's change, as the story tells it. */
export const HEAD_CHANGES: Files = {
  'k8s/base/notification-service/deployment.yaml': deployment(1),
  'k8s/overlays/production/kustomization.yaml': productionOverlay(17, '2Gi'),
  'k8s/overlays/production/memory.yaml': memoryPatch('2Gi'),
  'charts/search-service/values-production.yaml': 'replicas: 4\nmemory: 2Gi\n',
  'deploy/payment-service/limits.json': null,
  'deploy/payment-service/fraud.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: payment-fraud, namespace: payments-prod }
data: { threshold: "0.9" }
`,
};

export interface TestRepo {
  dir: string;
  git(...args: string[]): string;
  /** Writes (or, for null, deletes) the files and commits them; returns the commit id. */
  commit(files: Files, message: string): string;
  remove(): void;
}

export function createTestRepo(): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-render-repo-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'agent',
    GIT_AUTHOR_EMAIL: 'agent@example.com',
    GIT_COMMITTER_NAME: 'agent',
    GIT_COMMITTER_EMAIL: 'agent@example.com',
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  return {
    dir,
    git,
    commit(files, message) {
      for (const [path, content] of Object.entries(files)) {
        const file = join(dir, path);
        if (content === null) {
          rmSync(file);
          continue;
        }
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
      git('add', '--all');
      git('commit', '--quiet', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
