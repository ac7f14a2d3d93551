// Which simulation the worker runs when no cluster is configured.
import { expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { parsePolicy } from '../../../src/policy/config/load';
import { loadConfig } from '../../../src/worker/config';
import { createSimulationWiring } from '../../../src/worker/simulation-wiring';

const sample = readFileSync(resolve(__dirname, '../../../policy/airlock.policy.yaml'), 'utf8');
const rendering = () => {
  const p = parse(sample);
  p.services[0].environments = {
    staging: { kubernetes: { manifests: 'deploy/notification-service/staging' } },
    production: { kubernetes: { manifests: 'deploy/notification-service/production' } },
  };
  return stringify(p);
};
const load = (text: string) => () => parsePolicy(text, 'policy.yaml');

test('the sample policy (no rendered service) keeps the image-tag simulation', () => {
  expect(createSimulationWiring(loadConfig({}), load(sample)).kind).toBe('simulated');
});

test('a policy that renders a service needs a clone: refused at start, naming the variable and the service', () => {
  expect(() => createSimulationWiring(loadConfig({}), load(rendering()))).toThrow(
    /^config: AIRLOCK_REPO_DIR: required: the policy renders notification-service from the repository/,
  );
  expect(createSimulationWiring(loadConfig({ AIRLOCK_REPO_DIR: '/srv/infra' }), load(rendering())).kind).toBe(
    'simulated-change+simulated',
  );
});
