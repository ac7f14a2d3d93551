// Runs the engine on a fixture under test/fixtures/changes/<name>/{base,head}.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkChange, type CheckOptions } from '../../src/policy/engine/check-change';
import { decide, type Finding } from '../../src/policy/engine/finding';
import { parsePolicy } from '../../src/policy/config/load';
import type { Policy } from '../../src/policy/config/schema';
import { directoryTree } from '../../src/policy/engine/trees/directory-tree';

export const FIXTURES = resolve(__dirname, '../fixtures/changes');
export const FIXTURE_POLICY = resolve(FIXTURES, 'policy.yaml');

export function fixturePolicy(extraChecks: Record<string, unknown> = {}): Policy {
  const { policy } = parsePolicy(readFileSync(FIXTURE_POLICY, 'utf8'), FIXTURE_POLICY);
  return { ...policy, checks: { ...policy.checks, ...extraChecks } };
}

// A Monday outside the fixture policy's 14:00–16:00 UTC load-test window.
export const OUTSIDE_WINDOWS = new Date('2026-03-02T10:00:00Z');

export async function checkFixture(
  name: string,
  policy = fixturePolicy(),
  options: CheckOptions = { now: OUTSIDE_WINDOWS },
) {
  const trees = {
    base: directoryTree(resolve(FIXTURES, name, 'base')),
    head: directoryTree(resolve(FIXTURES, name, 'head')),
  };
  const findings = await checkChange(policy, trees, options);
  return { findings, decision: decide(findings), rules: (level?: Finding['level']) => ruleSet(findings, level) };
}

/** The findings as `rule level` lines, in the engine's order. */
export function verdicts(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule} ${f.level}`);
}

function ruleSet(findings: Finding[], level?: Finding['level']): string[] {
  return [...new Set(findings.filter((f) => !level || f.level === level).map((f) => f.rule))].sort();
}
