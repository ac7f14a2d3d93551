// How a deployer's error becomes the deploy activity's failure: an integration error that says
// retrying cannot help (a Terraform plan that does not parse) ends the activity at once as
// DeployRejected, naming the file; one that a later attempt can fix (a held state lock) is retried.
import { expect, test } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createDeployActivities } from '../../../src/activities/deploy';
import type { Deployer } from '../../../src/integrations/deployer';
import { TerraformConfigError, TerraformLockError } from '../../../src/integrations/terraform/terraform-errors';
import { createSimulatedDeployer } from '../../../src/integrations/simulation/simulated-deployer';

const REQ = { service: 'svc', environment: 'staging' as const, version: 'v2' };
const DETAILS = {
  root: 'terraform/staging',
  commit: 'a'.repeat(40),
  stage: 'plan' as const,
  file: 'terraform/modules/shared/database.tf',
  line: 12,
  detail: 'Error: Invalid expression',
};

async function failureOf(err: Error): Promise<ApplicationFailure> {
  const deployer: Deployer = {
    ...createSimulatedDeployer({ rolloutMs: 0 }),
    deploy: () => Promise.reject(err),
  };
  const run = new MockActivityEnvironment().run(createDeployActivities(deployer).deployToEnvironment, REQ);
  const failure = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return failure as ApplicationFailure;
}

test('a Terraform configuration error is not retried, and its message names the file and line', async () => {
  const f = await failureOf(new TerraformConfigError('tofu plan failed (exit 1)', DETAILS));
  expect(f.type).toBe('AirlockDeployRejected');
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toMatch(/terraform\/modules\/shared\/database\.tf:12 \(root terraform\/staging\)/);
});

test('a held state lock is retried', async () => {
  const f = await failureOf(new TerraformLockError('the state is locked by another run', DETAILS));
  expect(f.type).toBe('AirlockDeployFailed');
  expect(f.nonRetryable).toBe(false);
});
