// The policy gate judges what will be applied: each environment's render at base and head (the real
// kustomize and Helm), so a Helm values edit that quadruples memory is a finding although no
// manifest file changed, naming the rendered object and the file that produced it.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { backgroundBuildDone } from '../helpers/background-build';
import { makeChange, testPolicyYaml } from '../helpers/harness';
import { createChangeChecker } from '../../src/worker/policy-wiring';
import { parsePolicy } from '../../src/policy/config/load';
import { BASE_FILES, HEAD_CHANGES, createTestRepo, type TestRepo } from './render-repo';

let repo: TestRepo;
let base: string;
let head: string;
beforeAll(async () => {
  await backgroundBuildDone(); // kustomize and Helm
  repo = createTestRepo();
  base = repo.commit(BASE_FILES, 'base');
  head = repo.commit(HEAD_CHANGES, 'the agent: probe, memory, replicas, values');
}, 45 * 60_000);
afterAll(() => repo?.remove());

const chart = (environment: string) =>
  `{ kubernetes: { helm: { chart: charts/search-service, values: [charts/search-service/values-${environment}.yaml], releaseName: search-service } } }`;
const policy = (rendered: boolean) =>
  parsePolicy(
    testPolicyYaml({
      services: `  - name: search-service
    paths: ["charts/search-service/**"]${rendered ? `\n    environments: { staging: ${chart('staging')}, production: ${chart('production')} }` : ''}`,
    }),
    'test-policy',
  ).policy;

describe('the gate on rendered objects', () => {
  test('a Helm values edit 512Mi -> 2Gi in production is a memory finding on the rendered Deployment', async () => {
    const check = createChangeChecker(repo.dir);
    const change = makeChange({ service: 'search-service', commit: head, baseCommit: base });
    // On the files alone the values edit is invisible to the memory rule: this is what the render adds.
    const filesOnly = await check(policy(false), change);
    const aboutSearch = (f: { rule: string; message: string; file?: string }) =>
      f.rule.startsWith('memory') && /search-service/.test(`${f.file ?? ''} ${f.message}`);
    assert.deepEqual(filesOnly.filter(aboutSearch), [], JSON.stringify(filesOnly));

    const findings = await check(policy(true), change);
    const memory = findings.filter((f) => aboutSearch(f) && f.rule === 'memory-increase');
    assert.equal(memory.length, 1, JSON.stringify(findings));
    assert.match(
      memory[0].message,
      /^production render, Deployment \S+\/search-service \(from charts\/search-service\/templates\/deployment\.yaml\): /,
    );
    assert.match(memory[0].message, /512Mi/);
    assert.match(memory[0].message, /2Gi/);
    assert.equal(memory[0].file, 'charts/search-service/templates/deployment.yaml');
  });

  test('a chart that does not render blocks the gate, naming the file', async () => {
    const broken = repo.commit(
      {
        'charts/search-service/templates/deployment.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: {{ .Release.Name }\n',
      },
      'a broken template',
    );
    const findings = await createChangeChecker(repo.dir)(
      policy(true),
      makeChange({ service: 'search-service', commit: broken, baseCommit: head }),
    );
    const block = findings.find((f) => f.rule === 'unrenderable');
    assert.ok(block, JSON.stringify(findings));
    assert.equal(block.level, 'block');
    assert.match(block.message, /helm/);
  });
});
