// The bench's Temporal side: a dev server, the real Airlock worker (real workflows and activities,
// a simulated deployer that says when each operation starts) and a floor worker, in one process.
import { randomUUID } from 'node:crypto';
import {
  DefaultLogger,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../src/activities';
import type { Deployer } from '../../src/integrations/deployer';
import { createSimulatedDeployer, type DeployOperation } from '../../src/integrations/simulation/simulated-deployer';
import { parsePolicy } from '../../src/policy/config/load';
import { createAirlockWorker, WORKFLOWS_PATH } from '../../src/worker/worker';
import { benchPolicyYaml, type BenchPolicy } from './policy';

export const FLOOR_WORKFLOWS_PATH = require.resolve('../floor-workflows');

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();
export function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  let b = bundles.get(workflowsPath);
  if (!b) bundles.set(workflowsPath, (b = bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') })));
  return b;
}
export const airlockBundle = () => bundle(WORKFLOWS_PATH);
export const floorBundle = () => bundle(FLOOR_WORKFLOWS_PATH);

/** A simulated deployer that resolves `started(op, service)` when that operation begins. */
export interface WatchedDeployer extends Deployer {
  started(op: DeployOperation, service: string): Promise<number>;
}

export function watchedDeployer(): WatchedDeployer {
  const inner = createSimulatedDeployer();
  const waits = new Map<string, { at?: number; resolve?: (at: number) => void; promise: Promise<number> }>();
  const slot = (key: string) => {
    let w = waits.get(key);
    if (!w) {
      let resolve!: (at: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      waits.set(key, (w = { resolve, promise }));
    }
    return w;
  };
  const mark = (op: DeployOperation, service: string) => {
    const w = slot(`${op}:${service}`);
    if (w.at === undefined) {
      w.at = Date.now();
      w.resolve?.(w.at);
    }
  };
  return {
    kind: inner.kind,
    snapshot: (service, environment) => inner.snapshot(service, environment),
    deploy: (r) => (mark('deploy', r.service), inner.deploy(r)),
    deployCanary: (r) => (mark('deployCanary', r.service), inner.deployCanary(r)),
    promote: (r) => (mark('promote', r.service), inner.promote(r)),
    restore: (s) => (mark('restore', s.service), inner.restore(s)),
    started: (op, service) => slot(`${op}:${service}`).promise,
  };
}

export interface AirlockRig {
  taskQueue: string;
  slotWorkflowId: string;
  deployer: WatchedDeployer;
  deps: ActivityDeps;
  worker: Worker;
  policyText: string;
}

/** The real worker on its own task queue; the policy is re-read from text on every gate, as the worker re-reads its file. */
export async function airlockRig(
  env: TestWorkflowEnvironment,
  policy: BenchPolicy,
  extraDeps: Partial<ActivityDeps> = {},
): Promise<AirlockRig> {
  const taskQueue = `bench-${randomUUID()}`;
  const policyText = benchPolicyYaml(policy);
  const deployer = watchedDeployer();
  const deps: ActivityDeps = {
    deployer,
    loadPolicy: () => parsePolicy(policyText, 'bench-policy'),
    // The policy engine is its own benchmark; here the gate checks the service and allows.
    checkChange: async () => [],
    deployWindow: () => ({ waitMs: 0 }),
    temporal: env.client,
    reporters: [],
    ...extraDeps,
  };
  const worker = await createAirlockWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps,
    workflowBundle: await airlockBundle(),
  });
  return { taskQueue, slotWorkflowId: `slot-${randomUUID()}`, deployer, deps, worker, policyText };
}

export async function floorWorker(env: TestWorkflowEnvironment): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = `floor-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await floorBundle(),
    activities: { noop: async () => undefined },
  });
  return { worker, taskQueue };
}

/** Runs fn while both workers poll. */
export async function withWorkers<T>(workers: Worker[], fn: () => Promise<T>): Promise<T> {
  let run: Promise<T> = fn();
  for (const w of workers) run = w.runUntil(run);
  return run;
}
