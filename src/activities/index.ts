// createActivities(deps): every activity of Airlock, built from injected clients. Workflows see
// only the type (`proxyActivities<Activities>`), never these modules' values.
import type { Client } from '@temporalio/client';
import type { LoadedPolicy } from '../policy/load';
import type { Deployer } from './deployer';
import { createDeployActivities } from './deploy-activities';
import { createPolicyGateActivity, type ChangeChecker } from './policy-gate';
import { createReportActivity, type Reporter } from './reporter';
import { createSlotActivities } from './slot-activities';
import { createDeployWindowActivity, type DeployWindowFn } from './deploy-window';
import { createErrorRateWatchActivity, type MetricsSourceFactory } from './error-rate-watch';
import { createMetricsSourceFactory } from './metrics-source-factory';

export interface ActivityDeps {
  deployer: Deployer;
  loadPolicy: () => LoadedPolicy;
  checkChange: ChangeChecker;
  deployWindow: DeployWindowFn;
  temporal: Client;
  reporters: Reporter[];
  /** Builds the metrics source the policy configures; Prometheus works without it (no credentials). */
  metrics?: MetricsSourceFactory;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createDeployActivities(deps.deployer),
    evaluatePolicyGate: createPolicyGateActivity(deps.loadPolicy, deps.checkChange),
    deployWaitMs: createDeployWindowActivity(deps.loadPolicy, deps.deployWindow),
    ...createSlotActivities(deps.temporal),
    reportStage: createReportActivity(deps.reporters),
    watchErrorRate: createErrorRateWatchActivity(deps.metrics ?? createMetricsSourceFactory()),
  };
}

export type Activities = ReturnType<typeof createActivities>;
