// Cancellation that waits (issue 12, item 3): a deploy activity cancelled while its deployer is
// mid-apply ends at once with the SDK's CancelledFailure (never a result, never a retryable
// DeployFailed), and its deployer sends nothing after the cancel: no retry, no further request.
// MockActivityEnvironment runs the real activities; env.cancel() is what a heartbeat answer
// carrying a cancellation does in a worker. No server, no network: the Kubernetes path on a real
// API server is test/kubernetes/cancellation.test.ts.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createDeployActivities } from '../../../src/activities/deploy';
import type { Deployer, DeployResult, EnvironmentSnapshot } from '../../../src/integrations/deployer';
import { abortable, sleep } from '../../../src/integrations/cancellation';
import {
  KubernetesTransientError,
  withRetry,
  type RetryOptions,
} from '../../../src/integrations/kubernetes/kubernetes-errors';
import { createSimulatedDeployer } from '../../../src/integrations/simulation/simulated-deployer';
import { FailureType } from '../../../src/common/failure-types';

const RESULT: DeployResult = { readyAt: '2025-01-01T00:00:00.000Z', summary: '[test] done' };
const REQ = { service: 'svc', environment: 'staging' as const, version: 'v2' };

interface Request {
  n: number;
  at: number;
  /** Settles the held request as the server would answer it. */
  answer: (outcome: 'ok' | 'transient') => void;
}

/**
 * A deployer whose deploy() is one server-side apply through the real retry loop (withRetry):
 * each attempt is a "request" that stays held until the test answers it, and that is dropped
 * when its attempt signal aborts, as node-fetch does with the signal the Kubernetes deployer gives it.
 */
function heldDeployer(retry: RetryOptions = { initialDelayMs: 50, attemptTimeoutMs: 60_000 }) {
  const requests: Request[] = [];
  const waiting: ((r: Request) => void)[] = [];
  let taken = 0;
  const sent = (r: Request) => waiting.shift()?.(r);
  const deployer: Deployer = {
    kind: 'held',
    snapshot: () => Promise.reject(new Error('not used')),
    deploy: async (_req, { signal } = {}) => {
      await withRetry(
        'apply',
        'Deployment staging/svc',
        (attempt) =>
          new Promise<void>((resolve, reject) => {
            attempt.throwIfAborted(); // node-fetch sends nothing on an aborted signal
            const r: Request = {
              n: requests.length + 1,
              at: Date.now(),
              answer: (outcome) =>
                outcome === 'ok' ? resolve() : reject(new KubernetesTransientError('503 Service Unavailable')),
            };
            attempt.addEventListener('abort', () => reject(new Error('The user aborted a request.')), { once: true });
            requests.push(r);
            sent(r);
          }),
        retry,
        signal,
      );
      return RESULT;
    },
    deployCanary: () => Promise.reject(new Error('not used')),
    promote: () => Promise.reject(new Error('not used')),
    restore: () => Promise.reject(new Error('not used')),
  };
  return {
    deployer,
    requests,
    /** The next request the deployer sends (or has sent) that the test has not taken yet. */
    next: () =>
      new Promise<Request>((resolve) => {
        const k = taken++;
        if (k < requests.length) resolve(requests[k]);
        else waiting.push(resolve);
      }),
  };
}

/** Runs `p` and returns what it rejected with and how long after `since` it settled. */
async function settle(p: Promise<unknown>, since: number): Promise<{ err: unknown; ms: number }> {
  try {
    await p;
  } catch (err) {
    return { err, ms: Date.now() - since };
  }
  throw new Error('expected the activity to end with an error, it returned a result');
}

function expectCancelled(err: unknown) {
  expect(err).toBeInstanceOf(CancelledFailure);
  expect(err).not.toBeInstanceOf(ApplicationFailure); // not DeployFailed / DeployRejected
}

describe('a deploy activity cancelled mid-apply', () => {
  test('ends with CancelledFailure at once; the held request is the last one the deployer sends', async () => {
    const { deployer, requests, next } = heldDeployer();
    const env = new MockActivityEnvironment();
    const run = env.run(createDeployActivities(deployer).deployToEnvironment, REQ);
    const held = await next();
    const cancelledAt = Date.now();
    env.cancel();
    const { err, ms } = await settle(run, cancelledAt);
    expectCancelled(err);
    expect((err as CancelledFailure).message).toBe('CANCELLED'); // the SDK's own failure, not a wrapped one
    expect(ms).toBeLessThan(1_000);
    // The held apply now gets its (too late) answer: a transient error would be retried by an
    // uncancelled deployer after 50-100 ms. Nothing follows.
    held.answer('transient');
    await sleep(400);
    expect(requests.map((r) => r.n)).toEqual([1]);
    expect(requests.every((r) => r.at <= cancelledAt)).toBe(true);
  });

  test('cancelled during the backoff between two attempts: the backoff ends, no further attempt', async () => {
    const { deployer, requests, next } = heldDeployer({ initialDelayMs: 1_500, attemptTimeoutMs: 60_000 });
    const env = new MockActivityEnvironment();
    const run = env.run(createDeployActivities(deployer).deployToEnvironment, REQ);
    (await next()).answer('transient'); // attempt 1 fails: a backoff of 1.5-3 s
    await sleep(50);
    const cancelledAt = Date.now();
    env.cancel();
    const { err, ms } = await settle(run, cancelledAt);
    expectCancelled(err);
    expect(ms).toBeLessThan(1_000); // well before the shortest backoff would have ended
    await sleep(3_000); // past the longest backoff
    expect(requests.length).toBe(1);
  });

  test('a deployer that returns success after the cancel: the activity still reports cancellation', async () => {
    const deployer: Deployer = {
      ...heldDeployer().deployer,
      deploy: () => sleep(200).then(() => RESULT), // ignores the signal
    };
    const env = new MockActivityEnvironment();
    const run = env.run(createDeployActivities(deployer).deployToEnvironment, REQ);
    setTimeout(() => env.cancel(), 20);
    expectCancelled((await settle(run, Date.now())).err);
  });

  test('a deployer that fails after the cancel: cancellation, not a retryable DeployFailed', async () => {
    const deployer: Deployer = {
      ...heldDeployer().deployer,
      deploy: async (_req, { signal } = {}) => {
        await new Promise((r) => signal!.addEventListener('abort', r));
        throw new KubernetesTransientError('kubernetes: apply Deployment staging/svc: socket hang up');
      },
    };
    const env = new MockActivityEnvironment();
    const run = env.run(createDeployActivities(deployer).deployToEnvironment, REQ);
    setTimeout(() => env.cancel(), 20);
    expectCancelled((await settle(run, Date.now())).err);
  });

  test('without a cancel nothing changes: a transient failure is still a retryable DeployFailed', async () => {
    const { deployer, next } = heldDeployer({ initialDelayMs: 1, attemptTimeoutMs: 60_000, attempts: 2 });
    const run = new MockActivityEnvironment().run(createDeployActivities(deployer).deployToEnvironment, REQ);
    (await next()).answer('transient');
    (await next()).answer('transient');
    const { err } = await settle(run, Date.now());
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(FailureType.DeployFailed);
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
  });
});

describe('the simulated deployer honours cancellation', () => {
  test('cancelled during the rollout: ends at once, the new version is not recorded, the log says cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-cancel-'));
    try {
      const stateFile = join(dir, 'simulation.json');
      const deployer = createSimulatedDeployer({ rolloutMs: 5_000, stateFile });
      const acts = createDeployActivities(deployer);
      const snapshot: EnvironmentSnapshot = await new MockActivityEnvironment().run(
        acts.snapshotEnvironment,
        'svc',
        'production' as const,
      );
      const env = new MockActivityEnvironment();
      const run = env.run(acts.deployCanary, { service: 'svc', version: 'v2', percent: 10 });
      await sleep(100);
      const cancelledAt = Date.now();
      env.cancel();
      const { err, ms } = await settle(run, cancelledAt);
      expectCancelled(err);
      expect(ms).toBeLessThan(1_000);
      expect(deployer.view('svc', 'production')).toEqual({ stable: snapshot.stable, canary: null });
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))['production/svc'].canary).toBeNull();
      const phases = readFileSync(`${stateFile}.operations.jsonl`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { op: string; phase: string }).phase);
      expect(phases).toEqual(['started', 'cancelled']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('cancelled before it starts: nothing is recorded, not even as an operation', async () => {
    const deployer = createSimulatedDeployer();
    const controller = new AbortController();
    controller.abort(new CancelledFailure('CANCELLED'));
    await expect(
      deployer.deploy({ service: 'svc', environment: 'staging', version: 'v2' }, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledFailure);
    expect(deployer.operations).toEqual([]);
    expect(deployer.view('svc', 'staging').stable?.version).toBe('initial');
  });
});

describe('withRetry and the abort helpers', () => {
  test('an aborted signal starts no attempt at all', async () => {
    const controller = new AbortController();
    const reason = new CancelledFailure('CANCELLED');
    controller.abort(reason);
    let attempts = 0;
    await expect(withRetry('read', 'x', async () => ++attempts, {}, controller.signal)).rejects.toBe(reason);
    expect(attempts).toBe(0);
  });

  test('the per-attempt timeout aborts the attempt’s own signal and is retried as transient', async () => {
    const signals: AbortSignal[] = [];
    let n = 0;
    const value = await withRetry(
      'read',
      'x',
      (s) => {
        signals.push(s);
        return ++n === 1 ? new Promise<number>(() => undefined) : Promise.resolve(n);
      },
      { attemptTimeoutMs: 50, initialDelayMs: 1 },
    );
    expect(value).toBe(2);
    expect(signals[0].aborted).toBe(true);
    expect(signals[0].reason).toBeInstanceOf(KubernetesTransientError);
    expect(signals[1].aborted).toBe(false);
  });

  test('sleep and abortable end at the abort with its reason', async () => {
    const controller = new AbortController();
    const reason = new CancelledFailure('CANCELLED');
    const started = Date.now();
    const slept = sleep(10_000, controller.signal);
    const raced = abortable(new Promise(() => undefined), controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    await expect(raced).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(abortable(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });
});
