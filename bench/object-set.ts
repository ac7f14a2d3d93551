// Benchmark: staging apply of a 50-object change of one service (applyObjects: scope guard, dry
// run of every object, server-side apply in order, prune, readiness) next to a floor measured in
// the same run on the same objects: a bare client-node server-side-apply loop followed by the same
// readiness wait (rollout status of each Deployment, same poll interval). Each run is a real change
// (new images and config). Target: ≤ 1.5× the floor. Run alone: npx tsx bench/object-set.ts;
// `npm run bench -- --only object-set`.
import { performance } from 'node:perf_hooks';
import {
  AppsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startTestCluster } from '../test/helpers/kubernetes-cluster';
import { prepareCluster } from '../test/kubernetes/fixtures';
import { grantObjectSetRights } from '../test/kubernetes/object-set-fixtures';
import { applyObjects } from '../src/integrations/kubernetes/object-set-apply';
import { rolloutStatus } from '../src/integrations/kubernetes/kubernetes-rollout';

const POLL_MS = 250;
const SERVICE = 'bench-svc';

/** 5 Deployments (2 replicas), 20 ConfigMaps, 15 Services, 10 ServiceAccounts: 50 objects at `version`. */
function change(namespace: string, version: number): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  const meta = (name: string) => ({ name, namespace });
  for (let i = 0; i < 20; i++)
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(`cfg-${i}`),
      data: { VERSION: `v${version}` },
    } as KubernetesObject);
  for (let i = 0; i < 15; i++)
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(`svc-${i}`),
      spec: { selector: { app: `app-${i % 5}` }, ports: [{ port: 80, targetPort: 8080 }] },
    } as KubernetesObject);
  for (let i = 0; i < 10; i++)
    objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(`sa-${i}`) } as KubernetesObject);
  for (let i = 0; i < 5; i++)
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(`app-${i}`),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: `app-${i}` } },
        template: {
          metadata: { labels: { app: `app-${i}` } },
          spec: { containers: [{ name: 'app', image: `registry.example/app-${i}:v${version}` }] },
        },
      },
    } as KubernetesObject);
  return objects;
}

/** The floor: apply each object with client-node's server-side apply, then wait for every Deployment. */
async function bareApply(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  for (const o of objects) await api.patch(o, undefined, undefined, 'bench-floor', true, PatchStrategy.ServerSideApply);
  for (const o of objects.filter((x) => x.kind === 'Deployment')) {
    for (;;) {
      const d = await apps.readNamespacedDeployment({ name: o.metadata!.name!, namespace: o.metadata!.namespace! });
      const s = rolloutStatus(d);
      if (s.done) break;
      if ('failed' in s) throw new Error(s.failed);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

export interface ObjectSetBenchResult {
  objects: number;
  runs: number;
  applyMs: number[];
  floorMs: number[];
  applyMedianMs: number;
  floorMedianMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchObjectSet(runs = 5): Promise<ObjectSetBenchResult> {
  const cluster = await startTestCluster();
  try {
    await prepareCluster(cluster);
    await grantObjectSetRights(cluster);
    const kc = cluster.kubeconfig('airlock');
    const applyMs: number[] = [];
    const floorMs: number[] = [];
    // Version 0 is the baseline (not timed); runs 1..n are each a change, measured and floor
    // taking turns to go first so neither always meets a busier controller.
    for (let v = 0; v <= runs; v++) {
      const measured = async () => {
        const t = performance.now();
        await applyObjects(
          kc,
          { namespace: 'staging', service: SERVICE, desired: change('staging', v) },
          { pollMs: POLL_MS },
        );
        return performance.now() - t;
      };
      const floor = async () => {
        const t = performance.now();
        await bareApply(kc, change('production', v));
        return performance.now() - t;
      };
      let m: number, f: number;
      if (v % 2) {
        f = await floor();
        m = await measured();
      } else {
        m = await measured();
        f = await floor();
      }
      if (v === 0) continue;
      applyMs.push(m);
      floorMs.push(f);
    }
    return {
      objects: change('staging', 0).length,
      runs,
      applyMs,
      floorMs,
      applyMedianMs: median(applyMs),
      floorMedianMs: median(floorMs),
    };
  } finally {
    await cluster.teardown();
  }
}

async function main(): Promise<void> {
  const r = await benchObjectSet(Number(process.argv[2] ?? 5));
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(
    `change: ${r.objects} objects (5 Deployments × 2 replicas, 20 ConfigMaps, 15 Services, 10 ServiceAccounts)`,
  );
  console.log(
    `applyObjects (guard + dry run + apply + prune + ready): median ${r.applyMedianMs.toFixed(0)} ms [${list(r.applyMs)}]`,
  );
  console.log(
    `floor (bare SSA loop + ready):                        median ${r.floorMedianMs.toFixed(0)} ms [${list(r.floorMs)}]`,
  );
  const q = r.applyMedianMs / r.floorMedianMs;
  console.log(`ratio: ${q.toFixed(2)}×; target ≤ 1.5×: ${q <= 1.5 ? 'met' : 'MISSED'}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
