// Readiness of StatefulSets, DaemonSets and Jobs as `kubectl rollout status` judges it (the test
// cluster runs no controllers for these kinds, so their status viewers are tested here).
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import {
  daemonSetStatus,
  jobStatus,
  statefulSetStatus,
} from '../../../../src/integrations/kubernetes/workload-readiness';

describe('workload readiness', () => {
  test('StatefulSet: observed, ready, then every pod at the update revision (or the partition updated)', () => {
    const s = (status: object, spec: object = {}) => ({
      metadata: { generation: 3 },
      spec: { replicas: 3, ...spec },
      status,
    });
    assert.deepEqual(statefulSetStatus(s({ observedGeneration: 2 })), {
      done: false,
      waitingFor: 'the statefulset controller to observe the new spec',
    });
    assert.deepEqual(statefulSetStatus(s({ observedGeneration: 3, readyReplicas: 2 })), {
      done: false,
      waitingFor: '2 of 3 pods ready',
    });
    assert.deepEqual(
      statefulSetStatus(
        s({ observedGeneration: 3, readyReplicas: 3, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' }),
      ),
      { done: false, waitingFor: '1 pods at revision b (current a)' },
    );
    assert.deepEqual(
      statefulSetStatus(s({ observedGeneration: 3, readyReplicas: 3, currentRevision: 'b', updateRevision: 'b' })),
      { done: true },
    );
    const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    assert.deepEqual(
      statefulSetStatus(s({ observedGeneration: 3, readyReplicas: 3, updatedReplicas: 0 }, partitioned)),
      {
        done: false,
        waitingFor: '0 of 1 partitioned pods updated',
      },
    );
    assert.deepEqual(
      statefulSetStatus(s({ observedGeneration: 3, readyReplicas: 3, updatedReplicas: 1 }, partitioned)),
      { done: true },
    );
  });

  test('DaemonSet: every scheduled pod updated and available', () => {
    const d = (status: object) => ({
      metadata: { generation: 1 },
      status: { observedGeneration: 1, desiredNumberScheduled: 4, ...status },
    });
    assert.deepEqual(daemonSetStatus(d({ updatedNumberScheduled: 3 })), {
      done: false,
      waitingFor: '3 of 4 updated pods scheduled',
    });
    assert.deepEqual(daemonSetStatus(d({ updatedNumberScheduled: 4, numberAvailable: 2 })), {
      done: false,
      waitingFor: '2 of 4 updated pods available',
    });
    assert.deepEqual(daemonSetStatus(d({ updatedNumberScheduled: 4, numberAvailable: 4 })), { done: true });
  });

  test('Job: complete is ready, failed is a failure with its reason', () => {
    assert.deepEqual(jobStatus({ spec: { completions: 2 }, status: { succeeded: 1 } }), {
      done: false,
      waitingFor: '1 of 2 completions',
    });
    assert.deepEqual(jobStatus({ status: { conditions: [{ type: 'Complete', status: 'True' }] } }), { done: true });
    assert.deepEqual(
      jobStatus({
        status: {
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      }),
      {
        done: false,
        failed: 'job failed (BackoffLimitExceeded): Job has reached the specified backoff limit',
      },
    );
  });
});
