// A real, throwaway Kubernetes control plane for tests: etcd, kube-apiserver (RBAC, static
// tokens), kube-controller-manager (Deployment → ReplicaSet → Pod, garbage collection,
// EndpointSlices), kube-scheduler, and kwok, which plays the kubelet of fake nodes and makes their
// pods Running and Ready. Loopback only, random ports, a temp dir each; binaries come from .tools/
// (scripts/install-kubernetes.sh builds them). teardown() stops every process and removes the dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { getRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import { REPO_ROOT } from './tools';
import { backgroundBuildDone } from './background-build';

export const KUBERNETES_BIN = resolve(REPO_ROOT, '.tools/kubernetes/bin');
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

/**
 * Users of the test cluster (static tokens): the admin, the deployer bound to the generated RBAC,
 * one with no rights to write, and the free-memory reading's own identity (airlock-capacity).
 */
export type ClusterUser = 'admin' | 'airlock' | 'read-only' | 'capacity';

export interface TestCluster {
  server: string;
  dir: string;
  /** A kubeconfig file whose contexts are named after the users (current: airlock). */
  kubeconfigPath: string;
  /** KubeConfig for one user (context named after it). */
  kubeconfig(user?: ClusterUser): KubeConfig;
  admin: { apps: AppsV1Api; core: CoreV1Api; objects: KubernetesObjectApi };
  /** Applies YAML documents as the admin (create or replace). */
  applyYaml(yaml: string): Promise<void>;
  /** Tail of one component's log, for failure messages. */
  logTail(component: string, lines?: number): string;
  teardown(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  explain: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`test cluster: ${what} not ready after ${timeoutMs / 1000} s (${lastError})\n${explain()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function kubernetesBinariesMissing(): string[] {
  return BINARIES.filter((b) => !existsSync(join(KUBERNETES_BIN, b)));
}

export async function startTestCluster(): Promise<TestCluster> {
  await backgroundBuildDone();
  const missing = kubernetesBinariesMissing();
  if (missing.length) {
    throw new Error(
      `test cluster: ${missing.join(', ')} missing from ${KUBERNETES_BIN}; run bash scripts/install-kubernetes.sh (npm test runs scripts/setup.sh)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'airlock-kube-'));
  const procs: { name: string; proc: ChildProcess; exited: Promise<void> }[] = [];
  const logPath = (name: string) => join(dir, `${name}.log`);
  const logTail = (name: string, lines = 25) =>
    existsSync(logPath(name)) ? readFileSync(logPath(name), 'utf8').split('\n').slice(-lines).join('\n') : '';
  const start = (name: string, args: string[]) => {
    const fd = openSync(logPath(name), 'a');
    const proc = spawn(join(KUBERNETES_BIN, name), args, { stdio: ['ignore', fd, fd], cwd: dir });
    closeSync(fd);
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    procs.push({ name, proc, exited });
    return proc;
  };
  const stopAll = async () => {
    // Newest first: the clients go before the API server, the API server before etcd.
    for (const p of [...procs].reverse()) {
      if (p.proc.exitCode === null && p.proc.signalCode === null) {
        p.proc.kill('SIGTERM');
        const killer = setTimeout(() => p.proc.kill('SIGKILL'), 5_000);
        await p.exited;
        clearTimeout(killer);
      }
    }
  };
  const onExit = () => procs.forEach((p) => p.proc.kill('SIGKILL'));
  process.once('exit', onExit);

  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    start('etcd', [
      '--name=airlock-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=airlock-test=http://127.0.0.1:${etcdPeer}`,
      '--log-level=warn',
    ]);
    await until(
      'etcd',
      async () => (await fetch(`${etcdUrl}/health`)).ok,
      30_000,
      () => logTail('etcd'),
    );

    const tokens = {
      admin: randomBytes(16).toString('hex'),
      airlock: randomBytes(16).toString('hex'),
      'read-only': randomBytes(16).toString('hex'),
      capacity: randomBytes(16).toString('hex'),
    };
    writeFileSync(
      join(dir, 'tokens.csv'),
      [
        `${tokens.admin},admin,uid-admin,"system:masters"`,
        `${tokens.airlock},airlock-deployer,uid-airlock`,
        `${tokens['read-only']},read-only,uid-read-only`,
        `${tokens.capacity},airlock-capacity,uid-capacity`,
      ].join('\n') + '\n',
    );
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.pub'), sa.publicKey);
    writeFileSync(join(dir, 'sa.key'), sa.privateKey);
    start('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      // Pods need no service account token here: there is no kubelet to mount one.
      // No node-lifecycle controller runs to lift the not-ready taint this plugin puts on new nodes.
      '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition',
      '--enable-priority-and-fairness=false',
      '--endpoint-reconciler-type=none',
      '--v=0',
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    const users: ClusterUser[] = ['admin', 'airlock', 'read-only', 'capacity'];
    const kubeconfigText = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: users.map((u) => ({ name: u, user: { token: tokens[u] } })),
      contexts: users.map((u) => ({ name: u, context: { cluster: 'test', user: u } })),
      'current-context': 'airlock',
    });
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigText);
    const adminKubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfigPath, JSON.stringify({ ...JSON.parse(kubeconfigText), 'current-context': 'admin' }));
    const kubeconfig = (user: ClusterUser = 'airlock') => {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfigText);
      kc.setCurrentContext(user);
      return kc;
    };
    const adminKc = kubeconfig('admin');
    const admin = {
      apps: adminKc.makeApiClient(AppsV1Api),
      core: adminKc.makeApiClient(CoreV1Api),
      objects: KubernetesObjectApi.makeApiClient(adminKc),
    };
    await until(
      'kube-apiserver',
      async () => (await getRawJson<unknown>(adminKc, '/readyz')) === 'ok',
      90_000,
      () => logTail('kube-apiserver'),
    );

    const quiet = ['--v=0', `--kubeconfig=${adminKubeconfigPath}`];
    start('kube-controller-manager', [
      ...quiet,
      '--leader-elect=false',
      '--secure-port=0',
      '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,endpointslice-controller',
      '--concurrent-deployment-syncs=5',
      '--concurrent-replicaset-syncs=5',
    ]);
    start('kube-scheduler', [...quiet, '--leader-elect=false', '--secure-port=0']);
    start('kwok', [
      `--kubeconfig=${adminKubeconfigPath}`,
      '--manage-all-nodes=true',
      '--node-lease-duration-seconds=40',
    ]);

    const applyYaml = async (yaml: string) => {
      for (const doc of loadAllYaml(yaml) as KubernetesObject[]) {
        try {
          await admin.objects.create(doc);
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
          await admin.objects.replace(doc);
        }
      }
    };
    // One fake node with room for every test's pods; kwok marks it Ready and runs its pods.
    await applyYaml(`apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  labels: { kubernetes.io/hostname: kwok-node-0, type: kwok, pool: general }
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
status:
  allocatable: { cpu: "32", memory: 64Gi, pods: "110" }
  capacity: { cpu: "32", memory: 64Gi, pods: "110" }
`);
    await until(
      'kwok node',
      async () =>
        (await admin.core.readNode({ name: 'kwok-node-0' })).status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      60_000,
      () => logTail('kwok'),
    );
    return {
      server,
      dir,
      kubeconfigPath,
      kubeconfig,
      admin,
      applyYaml,
      logTail,
      async teardown() {
        process.removeListener('exit', onExit);
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    process.removeListener('exit', onExit);
    await stopAll();
    const logs = BINARIES.map((b) => `--- ${b}\n${logTail(b, 15)}`).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}
