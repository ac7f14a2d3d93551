// The demo's infrastructure repo: a small local git repo shaped like the story's, with plain
// manifests (`manifests:` sources) so nothing but git is needed on a fresh machine. Three commits:
// the base as it runs, then the agent's two merged changes, each its own change of one service:
// notification-service's liveness failureThreshold 3 → 5 (the AI-DEPLOY-009 fix), and
// search-service's memory limit 512Mi → 768Mi (+50 %, the most the gate allows).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DEMO_ENVIRONMENTS = ['staging', 'production'] as const;

export interface DemoRepo {
  dir: string;
  /** Both services as they run before the agent's changes. */
  base: string;
  /** notification-service: failureThreshold 3 → 5 (base: `base`). */
  probeFix: string;
  /** search-service: memory 512Mi → 768Mi (base: `probeFix`). */
  memoryChange: string;
}

/** Where each service's environment is rendered from: `deploy/<service>/<environment>`. */
export const manifestsDir = (service: string, environment: string) => `deploy/${service}/${environment}`;

const deployment = (o: {
  name: string;
  replicas: number;
  memory: string;
  failureThreshold: number;
}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${o.name}
  labels: { app: ${o.name} }
spec:
  replicas: ${o.replicas}
  selector: { matchLabels: { app: ${o.name} } }
  template:
    metadata: { labels: { app: ${o.name} } }
    spec:
      containers:
        - name: app
          image: registry.example/${o.name}:1.4.0
          resources: { requests: { memory: ${o.memory} }, limits: { memory: ${o.memory} } }
          readinessProbe: { httpGet: { path: /ready, port: 8080 } }
          livenessProbe:
            httpGet: { path: /healthz, port: 8080 }
            periodSeconds: 10
            failureThreshold: ${o.failureThreshold}
`;

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;

type Files = Record<string, string>;

function serviceFiles(name: string, o: { memory: string; failureThreshold: number }): Files {
  const files: Files = {};
  for (const environment of DEMO_ENVIRONMENTS) {
    const replicas = environment === 'production' ? 8 : 2;
    files[`${manifestsDir(name, environment)}/deployment.yaml`] = deployment({ name, replicas, ...o });
    files[`${manifestsDir(name, environment)}/service.yaml`] = service(name);
  }
  return files;
}

/** Creates the repo under `dir` (which must not exist yet) and commits the three states. */
export function createDemoRepo(dir: string): DemoRepo {
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'airlock-agent[bot]',
    GIT_AUTHOR_EMAIL: 'agent@infra.example.com',
    GIT_COMMITTER_NAME: 'airlock-agent[bot]',
    GIT_COMMITTER_EMAIL: 'agent@infra.example.com',
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  const commit = (files: Files, message: string) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    git('add', '--all');
    git('commit', '--quiet', '--no-gpg-sign', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '--quiet', '--initial-branch=main');
  return {
    dir,
    base: commit(
      {
        'README.md': '# infra (Airlock demo)\n',
        ...serviceFiles('notification-service', { memory: '512Mi', failureThreshold: 3 }),
        ...serviceFiles('search-service', { memory: '512Mi', failureThreshold: 3 }),
      },
      'infra as it runs',
    ),
    probeFix: commit(
      serviceFiles('notification-service', { memory: '512Mi', failureThreshold: 5 }),
      'notification-service: liveness failureThreshold 3 -> 5 (one slow health check no longer restarts a pod)',
    ),
    memoryChange: commit(
      serviceFiles('search-service', { memory: '768Mi', failureThreshold: 3 }),
      'search-service: memory 512Mi -> 768Mi',
    ),
  };
}
