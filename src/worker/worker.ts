// The worker entry point: builds activities from real dependencies and polls the task queue.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadCodecConfig, type CodecConfig } from '../codec/codec-keys';
import { codecStartupNotice, createDataConverter } from '../codec/data-converter';
import { createActivities, type Activities, type ActivityDeps } from '../activities';
import { createLogReporter } from '../integrations/log/log-reporter';
import { integrationReporters } from './integration-reporters';
import { createMetricsSourceFactory, datadogCredentialsFromEnv } from '../integrations/metrics-source-factory';
import { loadConfig, type AirlockConfig } from './config';
import { parsePolicy } from '../policy/config/load';
import { connectClient, connectWorkerConnection } from '../client/temporal-connection';
import { createChangeChecker, deployWindow, workerProtectedPaths } from './policy-wiring';
import { createKubernetesWiring } from './kubernetes-wiring';
import { createSimulationWiring } from './simulation-wiring';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export interface AirlockWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built bundle (tests bundle once); otherwise the worker bundles WORKFLOWS_PATH. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tests only: wraps the real activities (fault injection); production passes none. */
  wrapActivities?: (activities: Activities) => Activities;
  /**
   * The payload codec (src/codec): the same one as the client in `deps.temporal`. It runs outside
   * the workflow sandbox, so the bundle needs nothing. Absent: payloads in clear.
   */
  dataConverter?: DataConverter;
  /**
   * Tests only: give up a shutdown that has not finished by then (GracefulShutdownPeriodExpiredError)
   * instead of waiting for ever, so a stuck test fails with its reason instead of hanging the suite.
   */
  shutdownForceTime?: WorkerOptions['shutdownForceTime'];
}

export function createAirlockWorker(o: AirlockWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: o.wrapActivities ? o.wrapActivities(createActivities(o.deps)) : createActivities(o.deps),
    ...(o.dataConverter ? { dataConverter: o.dataConverter } : {}),
    ...(o.shutdownForceTime ? { shutdownForceTime: o.shutdownForceTime } : {}),
    // A stop reaches a running deploy only in a heartbeat's reply; the default throttle (0.8 × the
    // 20 s heartbeat timeout) delayed the cancel by ~16 s, a rollout's worth of time.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

/** Production dependencies from the parsed configuration. */
export function createDeps(config: AirlockConfig, temporal: Client): ActivityDeps {
  mkdirSync(dirname(config.simulationStateFile), { recursive: true });
  const loadPolicy = () => parsePolicy(readFileSync(config.policyPath, 'utf8'), config.policyPath);
  loadPolicy(); // refuse to start on a broken policy rather than fail the first promotion
  const kubernetes =
    config.deployer === 'kubernetes'
      ? createKubernetesWiring(config.kubeconfigPath, loadPolicy, {
          ...(config.repoDir ? { repoDir: config.repoDir } : {}),
          ...(config.terraformStateDir ? { terraformStateDir: config.terraformStateDir } : {}),
        })
      : undefined;
  const checker = createChangeChecker(config.repoDir, { protectedPaths: workerProtectedPaths(config.policyPath) });
  return {
    deployer: kubernetes?.deployer ?? createSimulationWiring(config, loadPolicy),
    loadPolicy,
    checkChange: kubernetes ? kubernetes.withFreeMemory(checker) : checker,
    deployWindow,
    temporal,
    reporters: [createLogReporter(), ...integrationReporters()],
    // The policy picks Prometheus or Datadog; Datadog's keys come from DD_API_KEY / DD_APP_KEY.
    metrics: createMetricsSourceFactory({ datadog: datadogCredentialsFromEnv(process.env) }),
  };
}

/** Prints the codec's state: a loud warning when payloads go to Temporal in clear. */
export function announceCodec(codec: CodecConfig, log: Pick<Console, 'log' | 'warn'> = console): void {
  const notice = codecStartupNotice(codec);
  log[notice.level === 'warn' ? 'warn' : 'log'](notice.text);
}

export async function runWorker(config = loadConfig(), codec = loadCodecConfig()): Promise<void> {
  const dataConverter = createDataConverter(codec);
  announceCodec(codec);
  const { connection, namespace } = await connectWorkerConnection();
  const client = await connectClient(dataConverter);
  const worker = await createAirlockWorker({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    deps: createDeps(config, client),
    dataConverter,
    ...(config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : {}),
  });
  console.log(
    `airlock worker: task queue "${config.taskQueue}", namespace "${namespace}", deployer ${config.deployer}, policy ${config.policyPath}`,
  );
  await worker.run();
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
