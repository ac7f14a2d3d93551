// The checks section: defaults from the story when omitted, clear errors when wrong.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'vitest';
import { DEFAULT_FORBIDDEN_PATHS } from '../../src/policy/config/checks-schema';
import { parsePolicy, PolicyError } from '../../src/policy/config/load';
import { DEFAULT_WAIVABLE } from '../../src/policy/engine/finding-identity';
import { testPolicyYaml } from '../helpers/harness';

const withChecks = (checks: string) => testPolicyYaml({ extra: `checks:\n${checks}` });

describe('policy checks section', () => {
  it('the workflow harness policy (no checks section) gets the story defaults', () => {
    const { checks } = parsePolicy(testPolicyYaml(), 'harness').policy;
    assert.deepEqual(checks, {
      minLivenessFailureThreshold: 3,
      maxMemoryIncreasePercent: 50,
      maxReplicas: 10,
      forbiddenPaths: DEFAULT_FORBIDDEN_PATHS,
      sensitive: { secrets: 'block', networking: 'block', database: 'warn', production: 'warn' },
      vacuous: { memoryLimit: 'warn', probes: 'warn' },
      maxFilesPerChange: 10,
      plannedOperations: [],
      maxFileBytes: 1024 * 1024,
      maxChangeBytes: 20 * 1024 * 1024,
      allowUncheckedChanges: false,
      imageOnlyChanges: 'block',
      waivable: [...DEFAULT_WAIVABLE],
    });
  });

  it('the sample policy spells out exactly the defaults', () => {
    const sample = parsePolicy(readFileSync(resolve(__dirname, '../../policy/airlock.policy.yaml'), 'utf8')).policy
      .checks;
    assert.deepEqual(sample, parsePolicy(testPolicyYaml()).policy.checks);
  });

  it('a partial sensitive section keeps the other defaults', () => {
    const { checks } = parsePolicy(withChecks('  sensitive: { database: block }')).policy;
    assert.deepEqual(checks.sensitive, {
      secrets: 'block',
      networking: 'block',
      database: 'block',
      production: 'warn',
    });
  });

  const refused: [string, RegExp][] = [
    ['  maxReplica: 5', /checks: Unrecognized key: "maxReplica"/],
    ['  nodePoolFreeMemory: 12GB', /checks.nodePoolFreeMemory: must be a positive Kubernetes quantity/],
    ['  sensitive: { secrets: allow }', /checks.sensitive.secrets/],
    ['  vacuous: { probes: off }', /checks\.vacuous\.probes: .*"block".*"warn"/],
    ['  vacuous: { memoryLimits: block }', /checks\.vacuous: Unrecognized key: "memoryLimits"/],
    [
      '  plannedOperations: [{ name: t, schedule: "every day", durationMinutes: 60, services: [a], action: freeze }]',
      /checks.plannedOperations.0.schedule: must be a cron expression/,
    ],
    [
      '  plannedOperations: [{ name: t, schedule: "0 14 * * 1-5", durationMinutes: 60, timezone: Mars/Olympus, services: [a], action: freeze }]',
      /checks.plannedOperations.0.timezone: must be an IANA time zone/,
    ],
    ['  maxFileBytes: 0', /checks.maxFileBytes: Too small: expected number to be >0/],
    ['  maxChangeBytes: 1.5', /checks.maxChangeBytes: Invalid input: expected int/],
    ['  allowUncheckedChanges: "yes"', /checks.allowUncheckedChanges: Invalid input: expected boolean/],
  ];
  for (const [yaml, message] of refused) {
    it(`refuses ${yaml.trim()}`, () => {
      assert.throws(
        () => parsePolicy(withChecks(yaml), 'p.yaml'),
        (err: unknown) => err instanceof PolicyError && message.test(err.message),
      );
    });
  }

  it('checks.waivable refuses a rule that means the change was not read, and a typo', () => {
    assert.throws(
      () => parsePolicy(withChecks('  waivable: [replicas, unparseable]')),
      (err: unknown) => {
        assert.ok(err instanceof PolicyError);
        assert.match(err.message, /checks\.waivable\.1.*"unparseable" means the change was not \(all\) read/);
        return true;
      },
    );
    assert.throws(() => parsePolicy(withChecks('  waivable: [memory-increse]')), /"memory-increse" is not a rule id/);
    assert.deepEqual(parsePolicy(withChecks('  waivable: [forbidden-path]')).policy.checks.waivable, [
      'forbidden-path',
    ]);
  });
});
