// Loading the worker's policy inside an activity: a broken policy file is an operator error, so it
// fails the activity for good (PolicyInvalid) rather than being retried or guessed around.
import { ApplicationFailure } from '@temporalio/common';
import { PolicyError, type LoadedPolicy } from '../policy/config/load';
import { FailureType } from '../common/failure-types';

export function loadPolicyOrFail(loadPolicy: () => LoadedPolicy): LoadedPolicy {
  try {
    return loadPolicy();
  } catch (err) {
    if (err instanceof PolicyError)
      throw ApplicationFailure.create({ type: FailureType.PolicyInvalid, message: err.message, nonRetryable: true });
    throw err;
  }
}
