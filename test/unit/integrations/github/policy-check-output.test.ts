// The `Airlock policy` check run's output: conclusion, title, annotations, and a summary that stays
// under GitHub's 65,535 characters and shows untrusted text as text.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { policyCheckOutput } from '../../../../src/integrations/github/policy-check-run';
import type { Finding } from '../../../../src/policy/engine/finding';

const check = (findings: Finding[]) => ({
  repository: 'acme/infra',
  baseSha: 'a'.repeat(40),
  headSha: 'b'.repeat(40),
  findings,
  approversRequired: 2,
});

describe('the Airlock policy check output', () => {
  test('warnings only: success, each warning annotated and listed; mentions and links in messages are escaped', () => {
    const out = policyCheckOutput(
      check([
        {
          rule: 'vacuous-probe',
          level: 'warn',
          id: 'vacuous-probe-0000000001',
          file: 'k8s/a.yaml',
          message: 'ping @acme/sre [x](http://evil)',
        },
      ]),
    );
    assert.deepEqual([out.conclusion, out.title], ['success', 'allowed: 1 warning(s)']);
    assert.deepEqual(out.annotations, [
      {
        path: 'k8s/a.yaml',
        start_line: 1,
        end_line: 1,
        annotation_level: 'warning',
        title: 'vacuous-probe (vacuous-probe-0000000001)',
        message: 'ping @acme/sre [x](http://evil)',
      },
    ]);
    assert.match(
      out.summary,
      /\n- \*\*warn\*\* `vacuous-probe` \(`vacuous-probe-0000000001`\) `k8s\/a\.yaml`: ping \\@acme\/sre \\\[x\\\]\(http:\/\/evil\)$/,
    );
  });

  test('a summary that would pass 65,535 characters is cut at a whole finding and says how many are left out', () => {
    const findings: Finding[] = Array.from({ length: 400 }, (_, i) => ({
      rule: 'liveness-probe',
      level: 'block' as const,
      id: `liveness-probe-${String(i).padStart(10, '0')}`,
      waivable: true,
      file: `k8s/f${i}.yaml`,
      line: 3,
      message: 'x'.repeat(300),
    }));
    const out = policyCheckOutput(check(findings));
    assert.ok(out.summary.length <= 65_535, `${out.summary.length}`);
    const listed = out.summary.split('\n').filter((l) => l.startsWith('- **block**')).length;
    assert.ok(listed > 100 && listed < 400);
    assert.ok(out.summary.endsWith(`\n- … ${400 - listed} more: see the annotations`));
    assert.equal(out.annotations.length, 400);
    assert.equal(out.conclusion, 'failure');
  });
});
