// The promotions whose histories are kept as replay fixtures: one per ending of the stage machine,
// each driven the way people and metrics drive a real one (signed approvals, samples every step).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { atRate, feed, sendSample, untilStage, type PolicyOverrides } from '../helpers/harness';
import { signedApproval, signedWaiver } from '../helpers/approver-keys';
import { floodUntilContinued } from '../helpers/runs';
import { abortUpdate, alertSignal, approveUpdate, stateQuery, waiveUpdate } from '../../src/workflows/messages';

export interface Scenario {
  name: string;
  policy?: PolicyOverrides;
  blockFinding?: boolean;
  /** The gate blocks on a waivable finding (replicas): the promotion waits for signed waivers. */
  waivableFinding?: boolean;
  /** PromotionInput.historyLimit: low, so the promotion continues as new; one fixture per run. */
  historyLimit?: number;
  outcome: string;
  drive(env: TestWorkflowEnvironment, h: WorkflowHandle): Promise<void>;
}

const approve = async (env: TestWorkflowEnvironment, h: WorkflowHandle, who: string) =>
  h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, who)] });

/** Waits (real time) for the gate to block on the waivable finding; returns the blocking finding ids. */
async function blockedFindings(h: WorkflowHandle): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    const s = await h.query(stateQuery);
    if (s.stage === 'awaiting_waiver') return s.findings.filter((f) => f.level === 'block').map((f) => f.id!);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('never reached awaiting_waiver');
}

const waive = async (env: TestWorkflowEnvironment, h: WorkflowHandle, who: string, findings: string[]) =>
  h.executeUpdate(waiveUpdate, { args: [await signedWaiver(env, h, who, findings)] });

export const SCENARIOS: Scenario[] = [
  {
    name: 'promoted',
    outcome: 'promoted',
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await h.signal('approve', await signedApproval(env, h, 'bob'));
      await feed(env, h, { stop: () => false });
    },
  },
  {
    name: 'rolled-back-in-bake',
    outcome: 'rolled_back',
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await feed(env, h, { stop: (s) => Date.parse(s.now) - Date.parse(s.stagingReadyAt!) > 6 * 3600_000 });
      // Half the requests failing, after six hours at 1 %: breached on this interval.
      await sendSample(env, h, { environment: 'staging', ...atRate(0.5) });
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
  {
    // Counts, judged by the sequential breach test (patch sequential-breach-test): healthy through
    // the bake, then the canary at three times the stable version's rate.
    name: 'rolled-back-by-counts-in-canary',
    outcome: 'rolled_back',
    async drive(env, h) {
      const baseline = { baselineErrors: 90, baselineRequests: 9_000 };
      await feed(env, h, { stop: untilStage('canary'), counts: { errors: 10, requests: 1_000, ...baseline } });
      await feed(env, h, { stop: () => false, stepMinutes: 1, counts: { errors: 30, requests: 1_000, ...baseline } });
    },
  },
  {
    // A canary too quiet to judge (patch insufficient-evidence): rolled back when its watch ends.
    name: 'rolled-back-for-insufficient-traffic-in-canary',
    outcome: 'rolled_back',
    async drive(env, h) {
      const baseline = { baselineErrors: 90, baselineRequests: 9_000 };
      await feed(env, h, { stop: untilStage('canary'), counts: { errors: 10, requests: 1_000, ...baseline } });
      const quiet = { errors: 0, requests: 20, baselineErrors: 2, baselineRequests: 180 };
      await feed(env, h, { stop: () => false, stepMinutes: 1, counts: quiet });
    },
  },
  {
    // A firing alert about the change's version in the canary: the alerting system's verdict.
    name: 'rolled-back-by-alert-in-canary',
    outcome: 'rolled_back',
    async drive(env, h) {
      const baseline = { baselineErrors: 90, baselineRequests: 9_000 };
      await feed(env, h, { stop: untilStage('canary'), counts: { errors: 10, requests: 1_000, ...baseline } });
      const startsAt = new Date(await env.currentTimeMs()).toISOString();
      await h.signal(alertSignal, {
        alerts: [
          { environment: 'production', name: 'ErrorRateHigh', source: 'alertmanager', startsAt, version: 'v1' },
          { environment: 'production', name: 'ErrorRateHigh', source: 'alertmanager', startsAt, version: 'v2' },
        ],
      });
      await feed(env, h, { stop: () => false, stepMinutes: 1, counts: { errors: 100, requests: 10_000, ...baseline } });
    },
  },
  {
    name: 'silence-in-canary',
    outcome: 'rolled_back',
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('canary') });
      await env.sleep('2 hours');
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
  {
    name: 'rejected',
    outcome: 'rejected',
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await h.signal('reject', { approver: 'bob', reason: 'canary logs look wrong' });
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
  {
    name: 'timed-out',
    outcome: 'timed_out',
    policy: { approvalTimeoutHours: 4 },
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'carol');
      await feed(env, h, { stop: () => false, stepMinutes: 30 });
    },
  },
  {
    name: 'aborted-in-production-watch',
    outcome: 'aborted',
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await approve(env, h, 'bob');
      await feed(env, h, {
        stop: (s) => s.stage === 'production' && s.deployed.includes('production'),
        stepMinutes: 1,
      });
      await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'pager says stop' }] });
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
  {
    // Continued as new in the bake and between the two approvals (and wherever else 300 events ran out).
    name: 'promoted-across-runs',
    outcome: 'promoted',
    historyLimit: 300,
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await floodUntilContinued(h);
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await floodUntilContinued(h);
      await h.signal('approve', await signedApproval(env, h, 'bob'));
      await feed(env, h, { stop: () => false });
    },
  },
  {
    // A breach in the canary after continuing as new: the restores come from earlier runs' plans.
    name: 'rolled-back-across-runs',
    outcome: 'rolled_back',
    historyLimit: 300,
    async drive(env, h) {
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await floodUntilContinued(h);
      await feed(env, h, { stop: (s) => s.stage === 'canary' && s.deployed.includes('production') });
      await floodUntilContinued(h);
      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
  {
    // Patch signed-waivers: blocked on a waivable finding, waived by two (an Update and a Signal),
    // then the whole way like an allowed change.
    name: 'waived',
    outcome: 'promoted',
    waivableFinding: true,
    async drive(env, h) {
      const ids = await blockedFindings(h);
      await waive(env, h, 'alice', ids);
      await h.signal('waive', await signedWaiver(env, h, 'bob', ids));
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await approve(env, h, 'carol');
      await feed(env, h, { stop: () => false });
    },
  },
  {
    // One waiver only: the waiver deadline (72 h) ends it blocked.
    name: 'waiver-timed-out',
    outcome: 'blocked',
    waivableFinding: true,
    async drive(env, h) {
      await waive(env, h, 'carol', await blockedFindings(h));
      await feed(env, h, { stop: () => false, stepMinutes: 60 });
    },
  },
  {
    // Continued as new while awaiting waivers, between the two waivers.
    name: 'waived-across-runs',
    outcome: 'promoted',
    waivableFinding: true,
    historyLimit: 300,
    async drive(env, h) {
      const ids = await blockedFindings(h);
      await waive(env, h, 'alice', ids);
      await floodUntilContinued(h);
      await waive(env, h, 'bob', ids);
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(env, h, 'alice');
      await approve(env, h, 'bob');
      await feed(env, h, { stop: () => false });
    },
  },
  {
    name: 'blocked',
    outcome: 'blocked',
    blockFinding: true,
    async drive(env, h) {
      await feed(env, h, { stop: () => false, stepMinutes: 1 });
    },
  },
];
