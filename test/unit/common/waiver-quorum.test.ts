// Which findings a promotion waits to have waived, which a waiver may name, and when the waivers
// received lift the block (src/common/waiver-quorum.ts), and the bridge cap's waiver wording.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { Finding } from '../../../src/policy/engine/finding';
import {
  alreadyWaivedBy,
  blockingFindingIds,
  waiverProgress,
  waitsForWaiver,
  whyFindingsNotWaivable,
} from '../../../src/common/waiver-quorum';
import { bridgeCapRefusal } from '../../../src/approvals/bridge-cap';
import { parsePolicy } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { testPolicyYaml } from '../../helpers/harness';

const block = (id: string, waivable: boolean): Finding => ({
  rule: id.split('-')[0],
  level: 'block',
  message: id,
  id,
  waivable,
});
const R = block('replicas-1', true);
const M = block('memory-2', true);
const F = block('forbidden-3', false);
const W: Finding = { rule: 'liveness', level: 'warn', message: 'w', id: 'liveness-4' };

describe('waitsForWaiver', () => {
  test('only when something blocks and every blocking finding is waivable and identified', () => {
    assert.equal(waitsForWaiver([R, M, W]), true);
    assert.equal(waitsForWaiver([R, F]), false, 'one non-waivable finding blocks at once');
    assert.equal(waitsForWaiver([W]), false, 'nothing blocks');
    assert.equal(waitsForWaiver([]), false);
    assert.equal(waitsForWaiver([{ ...R, id: undefined }]), false, 'a finding without an id cannot be named');
    assert.equal(waitsForWaiver([{ ...R, waivable: undefined }]), false, 'from before findings said so');
  });
});

describe('whyFindingsNotWaivable', () => {
  const findings = [R, M, W, F];
  test('names the id and the reason', () => {
    assert.equal(whyFindingsNotWaivable(findings, [R.id!, M.id!]), undefined);
    assert.match(whyFindingsNotWaivable(findings, [])!, /name at least one finding id/);
    assert.match(whyFindingsNotWaivable(findings, ['x-9'])!, /"x-9" is not a finding of this promotion \(ids: /);
    assert.match(whyFindingsNotWaivable(findings, ['liveness-4'])!, /"liveness-4" \(liveness\) is a warning/);
    assert.match(whyFindingsNotWaivable(findings, [R.id!, F.id!])!, /"forbidden-3" \(forbidden\) is not waivable/);
    assert.match(whyFindingsNotWaivable(findings, [R.id!, R.id!])!, /named twice/);
  });
});

describe('waiverProgress', () => {
  test('every blocking finding needs `required` distinct approvers; one person counts once per finding', () => {
    assert.deepEqual(blockingFindingIds([R, W, M, R]), [R.id, M.id]);
    const none = waiverProgress([R, M, W], [], 2);
    assert.deepEqual([none.complete, none.waiting], [false, [R.id, M.id]]);
    const aliceTwice = waiverProgress(
      [R, M],
      [
        { by: 'alice', findings: [R.id!, M.id!] },
        { by: 'alice', findings: [R.id!] },
      ],
      2,
    );
    assert.deepEqual(
      [aliceTwice.complete, aliceTwice.waiting, aliceTwice.by.get(R.id!)],
      [false, [R.id, M.id], ['alice']],
    );
    const partial = waiverProgress(
      [R, M],
      [
        { by: 'alice', findings: [R.id!, M.id!] },
        { by: 'bob', findings: [R.id!, 'unknown-0'] },
      ],
      2,
    );
    assert.deepEqual([partial.complete, partial.waiting], [false, [M.id]]);
    const done = waiverProgress(
      [R, M],
      [
        { by: 'alice', findings: [R.id!, M.id!] },
        { by: 'bob', findings: [R.id!] },
        { by: 'carol', findings: [M.id!] },
      ],
      2,
    );
    assert.deepEqual([done.complete, done.waiting], [true, []]);
    assert.equal(waiverProgress([W], [{ by: 'a', findings: [] }], 2).complete, false, 'nothing to waive');
  });

  test('alreadyWaivedBy: the named findings this person has waived before', () => {
    const given = [{ by: 'alice', findings: [R.id!] }];
    assert.deepEqual(alreadyWaivedBy(given, 'alice', [R.id!, M.id!]), [R.id]);
    assert.deepEqual(alreadyWaivedBy(given, 'bob', [R.id!]), []);
  });
});

describe('bridge cap for waivers', () => {
  test('the last waiver of a finding is never the bridge key alone; the message says waive', () => {
    const settings = promotionSettings(parsePolicy(testPolicyYaml()).policy);
    assert.equal(bridgeCapRefusal([], 'slack-bridge', settings, 'waive'), undefined);
    const why = bridgeCapRefusal([{ attribution: 'slack-bridge' }], 'slack-bridge', settings, 'waive');
    assert.match(
      why!,
      /^waive: 1 of the waivers of a finding already rest on the Slack bridge key alone.*airlock waive --key/,
    );
    assert.equal(bridgeCapRefusal([{ attribution: 'slack-bridge' }], 'approver-key', settings, 'waive'), undefined);
  });
});
