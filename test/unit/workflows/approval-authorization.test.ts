// Who may decide, and how many approvals may rest on the Slack bridge key: pure, so every case of
// the author set and the cap is checked here without a workflow.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { parsePolicy } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { authorizeHuman } from '../../../src/workflows/approval-authorization';
import { bridgeCapRefusal, maxBridgeApprovals } from '../../../src/approvals/bridge-cap';
import type { Change } from '../../../src/workflows/messages';

const policy = (extra = '') =>
  promotionSettings(
    parsePolicy(`version: 1
authors: { agents: ["airlock-agent[bot]"] }
approvers:
  required: 3${extra}
  allowed: [{ id: alice, github: alice-gh }, { id: bob }, { id: carol }, { id: "dave@example.com" }]
`).policy,
  );
const change = (authors?: string[]): Change => ({
  service: 'svc',
  commit: 'a'.repeat(40),
  author: 'airlock-agent[bot]',
  version: 'v2',
  ...(authors ? { authors } : {}),
});
const who = (c: Change, id: string, authorSet = true) =>
  authorizeHuman({ workflowId: 'w', change: c, settings: policy(), now: 0, authorSet }, 'approve', id);

test('every author of the set is excluded, case-insensitively, through the GitHub login', () => {
  const c = change(['airlock-agent[bot]', 'Alice-GH', 'DAVE@example.com', 'web-flow', 'BOB']);
  assert.deepEqual(who(c, 'alice'), {
    ok: false,
    reason: `approve: "alice-gh" is one of the change's authors (opener, commit author or committer, merger) and can never approve`,
  });
  assert.equal(who(c, 'bob').ok, false); // the merger, in another case
  assert.equal(who(c, 'dave@example.com').ok, false); // a commit with no GitHub account: its git email
  assert.deepEqual(who(c, 'carol'), { ok: true, approver: 'carol' });
  // The agent in any case, whatever the approver list says.
  assert.match(String((who(c, 'Airlock-Agent[bot]') as { reason: string }).reason), /is an agent identity/);
});

test('without an author set (changes recorded before it) the display author still counts, in any case', () => {
  assert.equal(who(change(), 'carol').ok, true);
  assert.equal(who({ ...change(), author: 'Carol' }, 'carol').ok, false);
});

test('histories from before the patch decide as they did: exact case, the author only', () => {
  const c = { ...change(['alice-gh']), author: 'Carol' };
  assert.deepEqual(who(c, 'alice', false), { ok: true, approver: 'alice' });
  assert.deepEqual(who(c, 'carol', false), { ok: true, approver: 'carol' });
  assert.equal(who({ ...c, author: 'carol' }, 'carol', false).ok, false);
});

test('the bridge cap: required − 1 by default, the policy may lower it, signed approvals never count against it', () => {
  const s = policy();
  assert.equal(maxBridgeApprovals(s), 2);
  const bridge = { attribution: 'slack-bridge' as const };
  const key = { attribution: 'approver-key' as const };
  assert.equal(bridgeCapRefusal([bridge], 'slack-bridge', s), undefined);
  assert.match(
    String(bridgeCapRefusal([bridge, key, bridge], 'slack-bridge', s)),
    /the most approvers\.maxBridgeApprovals allows \(2\)/,
  );
  assert.equal(bridgeCapRefusal([bridge, bridge], 'approver-key', s), undefined);
  const none = policy('\n  maxBridgeApprovals: 0');
  assert.match(String(bridgeCapRefusal([], 'slack-bridge', none)), /^approve: 0 of the approvals .*\(0\)/);
  assert.equal(bridgeCapRefusal([{}], 'unsigned', none), undefined);
});
