// A worker in its own process for the scale benchmark, so its RSS is the worker's alone. Started
// by bench/scale.ts with fork(); reports memory and deploy/no-op counts to the parent over IPC.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../src/activities';
import { parsePolicy } from '../src/policy/config/load';
import { createAirlockWorker } from '../src/worker/worker';
import { quietRuntime, watchedDeployer } from './lib/rig';

export interface ScaleWorkerConfig {
  kind: 'promotion' | 'floor';
  address: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  policyText?: string;
}

export type ScaleWorkerMessage =
  { type: 'ready' } | { type: 'progress'; rss: number; heapUsed: number; started: number };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.AIRLOCK_BENCH_WORKER ?? '{}') as ScaleWorkerConfig;
  quietRuntime();
  const connection = await NativeConnection.connect({ address: config.address });
  let started = 0;
  let worker: Worker;
  if (config.kind === 'promotion') {
    const client = new Client({
      connection: await Connection.connect({ address: config.address }),
      namespace: config.namespace,
    });
    const deployer = watchedDeployer();
    const deploy = deployer.deploy;
    deployer.deploy = (r) => (started++, deploy(r));
    const policyText = config.policyText!;
    const deps: ActivityDeps = {
      deployer,
      loadPolicy: () => parsePolicy(policyText, 'bench-policy'),
      checkChange: async () => [],
      deployWindow: () => ({ waitMs: 0 }),
      temporal: client,
      reporters: [],
    };
    worker = await createAirlockWorker({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      deps,
      workflowBundle: { codePath: config.bundlePath },
    });
  } else {
    worker = await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: { codePath: config.bundlePath },
      activities: { noop: async () => void started++ },
    });
  }
  const send = (m: ScaleWorkerMessage) => process.send?.(m);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    send({ type: 'progress', rss: m.rss, heapUsed: m.heapUsed, started });
  }, 250);
  process.on('SIGTERM', () => worker.shutdown());
  process.on('disconnect', () => worker.shutdown());
  send({ type: 'ready' });
  await worker.run();
  clearInterval(timer);
  await connection.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
