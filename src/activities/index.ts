// createActivities(deps): every activity of Airlock, built from injected clients. Workflows see
// only the type (`proxyActivities<Activities>`), never these modules' values.
import type { Client } from '@temporalio/client';
import type { LoadedPolicy } from '../policy/config/load';
import type { Deployer } from '../integrations/deployer';
import { createDeployActivities } from './deploy';
import { createPolicyGateActivity, type ChangeChecker } from './gate';
import { createApproverSetActivity } from './approver-set';
import { createReportActivity, type Reporter } from './report';
import { createSlotActivities } from './slot';
import { createTrainActivities } from './train';
import { createCompensationActivities } from './compensation';
import { boundToAttempt } from './attempt-bound';
import { createDeployWindowActivity, type DeployWindowFn } from './deploy-window';
import { createErrorRateWatchActivity, type MetricsSourceFactory } from './watch';
import { createMetricsSourceFactory } from '../integrations/metrics-source-factory';

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
    currentApproverSet: createApproverSetActivity(deps.loadPolicy),
    deployWaitMs: createDeployWindowActivity(deps.loadPolicy, deps.deployWindow),
    ...boundToAttempt(deps.temporal, createSlotActivities(deps.temporal, deps.loadPolicy)),
    ...boundToAttempt(deps.temporal, createTrainActivities(deps.temporal, deps.loadPolicy)),
    ...boundToAttempt(deps.temporal, createCompensationActivities(deps.temporal)),
    reportStage: createReportActivity(deps.reporters),
    watchErrorRate: createErrorRateWatchActivity(deps.metrics ?? createMetricsSourceFactory()),
  };
}

export type Activities = ReturnType<typeof createActivities>;
