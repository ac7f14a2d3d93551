// Git allows line breaks in file names; picomatch's `*` never matches one. A secret named so must
// still be a forbidden path, and still belong to its service.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { checkChange } from '../../src/policy/engine/check-change';
import { serviceMatcher } from '../../src/policy/engine/check-context';
import { fixturePolicy, OUTSIDE_WINDOWS } from './fixture-change';
import { memoryTrees } from './memory-tree';

describe('paths with line breaks', () => {
  for (const name of ['a\nb.txt', 'a\rb.txt', 'a\u2028b.txt']) {
    it(`config/secrets/${JSON.stringify(name)} is a forbidden path`, async () => {
      const path = `config/secrets/${name}`;
      const findings = await checkChange(fixturePolicy(), memoryTrees({}, { [path]: 'token\n' }), {
        now: OUTSIDE_WINDOWS,
      });
      assert.deepEqual(
        findings.filter((f) => f.rule === 'forbidden-path').map((f) => [f.file, f.level]),
        [[path, 'block']],
      );
    });
  }

  it('a file with a line break in its name belongs to the service whose glob covers it', () => {
    const policy = fixturePolicy();
    const service = policy.services[0]!;
    const dir = service.paths[0]!.replace(/\*\*.*$/, '');
    assert.deepEqual(serviceMatcher(policy)(`${dir}x\ny.yaml`), serviceMatcher(policy)(`${dir}x y.yaml`));
    assert.ok(serviceMatcher(policy)(`${dir}x\ny.yaml`).includes(service.name));
  });
});
