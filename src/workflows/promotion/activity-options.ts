// How each kind of activity is scheduled: timeouts, retries and cancellation, in one place.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

// Deploys wait for rollouts; a few retries cover a flaky API, not a broken manifest. The heartbeat
// timeout notices a worker that died mid-rollout in seconds, not the 20-minute start-to-close.
// A stop during a deploy cancels it and waits until the activity has really ended, so the restore
// never races a retried apply (the TypeScript SDK's default, TRY_CANCEL, would not wait).
export const deployActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
  cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Snapshots read an environment: retried like deploys, never cancelled half-way. */
export const readActs = deployActs;

// Restores must finish: retried with backoff for about the policy's rollback.maxRetryMinutes when
// it has one (older promotions: until they succeed or fail for good). Bounded by a number of
// attempts, not a schedule-to-close timeout: a timeout would also cut short a restore that is
// making progress, and the count is the same whatever the clock does.
const RESTORE_RETRY = { initialInterval: 5_000, backoffCoefficient: 2, maximumInterval: 60_000 };

/** Attempts whose backoff intervals add up to at least `minutes`. */
export function restoreAttempts(minutes: number): number {
  let waited = 0;
  let interval = RESTORE_RETRY.initialInterval;
  let attempts = 1;
  while (waited < minutes * 60_000) {
    waited += interval;
    interval = Math.min(interval * RESTORE_RETRY.backoffCoefficient, RESTORE_RETRY.maximumInterval);
    attempts++;
  }
  return attempts;
}

export function restoreActs(maxRetryMinutes?: number) {
  return wf.proxyActivities<Activities>({
    startToCloseTimeout: '20 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { ...RESTORE_RETRY, ...(maxRetryMinutes ? { maximumAttempts: restoreAttempts(maxRetryMinutes) } : {}) },
  });
}

export const controlActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

// Read while a person waits for their approval to be answered: a few quick tries, then a refusal
// that says to try again, rather than minutes of retries behind the CLI's prompt.
export const lookupActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
});

export const reportActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

/** The watch activity of one window: it lasts the window, heartbeats once per poll. */
export function watchActs(windowMs: number, graceMs: number, intervalMs: number) {
  return wf.proxyActivities<Activities>({
    startToCloseTimeout: Math.max(windowMs, 0) + graceMs + 5 * 60_000,
    // Heartbeats come once per poll; a dead worker is noticed within a few intervals and the
    // retry resumes the silence clock from the last heartbeat.
    heartbeatTimeout: 2 * intervalMs + 60_000,
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  });
}
