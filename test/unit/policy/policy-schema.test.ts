// The policy file: every error names the field path and the reason; defaults come from the story.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePolicy, PolicyError } from '../../../src/policy/config/load';

const minimal = `version: 1
authors: { agents: ["airlock-agent[bot]"] }
approvers: { allowed: [{ id: alice }, { id: bob }] }
`;

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${err}`);
    assert.equal(err.source, 'p.yaml');
    return err.problems;
  }
  assert.fail('the policy was accepted');
}

test('the sample policy shipped in policy/ parses, with a real 24 h bake', () => {
  const { policy, hash } = parsePolicy(readFileSync(resolve(__dirname, '../../../policy/airlock.policy.yaml'), 'utf8'));
  assert.equal(policy.bake.minHours, 24);
  assert.equal(policy.bake.allowShortBake, false);
  assert.match(hash, /^[0-9a-f]{64}$/);
});

test('omitted sections get the defaults of the story', () => {
  const { policy } = parsePolicy(minimal);
  assert.equal(policy.bake.minHours, 24);
  assert.equal(policy.canary.percent, 10);
  assert.equal(policy.rollback.thresholdPercent, 5);
  assert.equal(policy.approvers.required, 2);
  assert.equal(policy.blastRadius.maxServicesInFlight, 1);
});

test('a bake under 24 h must be allowed explicitly', () => {
  assert.deepEqual(problems(`${minimal}bake: { minHours: 1 }\n`), [
    'bake.minHours: is 1 h, under the 24 h standard; set bake.allowShortBake: true to say so explicitly',
  ]);
  assert.equal(parsePolicy(`${minimal}bake: { minHours: 1, allowShortBake: true }\n`).policy.bake.minHours, 1);
});

test('errors name the path of the bad field and the reason', () => {
  assert.match(problems(`${minimal}canary: { percent: "ten" }\n`).join(), /^canary\.percent: /);
  assert.match(
    problems(`${minimal}canary: { percent: 80 }\n`).join(),
    /^canary\.percent: a canary above 50% is not a canary/,
  );
  assert.match(problems(`${minimal}rollback: { thresholdPercent: -1 }\n`).join(), /^rollback\.thresholdPercent: /);
  assert.match(
    problems(minimal.replace('{ id: bob }', '{ id: alice }')).join(),
    /approvers\.allowed\.1\.id: "alice" is listed twice/,
  );
  assert.match(
    problems(minimal.replace('{ id: bob }', '{ id: "airlock-agent[bot]" }')).join(),
    /approvers\.allowed\.1\.id: .*agent identity/,
  );
  assert.match(
    problems(minimal.replace(', { id: bob }', '')).join(),
    /approvers\.allowed: lists 1 approvers but approvers\.required is 2/,
  );
  assert.match(
    problems(`${minimal}approvers: { required: 1, allowed: [{ id: a }] }\n`).join(),
    /YAML: .*[Mm]ap keys must be unique/,
  );
});

test('one person can never be two approvers: ids differing in case, a shared key or Slack user are refused', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const other = Buffer.alloc(32, 8).toString('base64');
  const withApprovers = (list: string) => minimal.replace('[{ id: alice }, { id: bob }]', list);
  assert.deepEqual(problems(withApprovers('[{ id: alice }, { id: Alice }]')), [
    'approvers.allowed.1.id: "Alice" and "alice" differ only in case: one approver under two names',
  ]);
  assert.deepEqual(problems(withApprovers(`[{ id: alice, publicKey: "${key}" }, { id: bob, publicKey: "${key}" }]`)), [
    'approvers.allowed.1.publicKey: is also the public key of "alice": one person would count as two approvers',
  ]);
  assert.deepEqual(problems(withApprovers('[{ id: alice, slack: U0ALICE }, { id: bob, slack: U0ALICE }]')), [
    'approvers.allowed.1.slack: is also the Slack user of "alice": one person would count as two approvers',
  ]);
  assert.match(
    problems(withApprovers('[{ id: "Airlock-Agent[bot]" }, { id: bob }, { id: carol }]')).join(),
    /approvers\.allowed\.0\.id: "Airlock-Agent\[bot\]" is the agent identity "airlock-agent\[bot\]" in another case/,
  );
  // Distinct people with their own keys and Slack users load.
  const ok = parsePolicy(
    withApprovers(
      `[{ id: alice, slack: U0ALICE, publicKey: "${key}" }, { id: bob, slack: U0BOB, publicKey: "${other}" }]`,
    ),
    'p.yaml',
  );
  assert.equal(ok.policy.approvers.allowed.length, 2);
});

test('GitHub logins: one login per person, compared case-insensitively, never an agent identity', () => {
  const withApprovers = (list: string) => minimal.replace('[{ id: alice }, { id: bob }]', list);
  assert.deepEqual(problems(withApprovers('[{ id: alice, github: alice-gh }, { id: bob, github: Alice-GH }]')), [
    'approvers.allowed.1.github: is also the GitHub login of "alice": one person would count as two approvers',
  ]);
  assert.deepEqual(problems(withApprovers('[{ id: alice }, { id: bob, github: ALICE }]')), [
    'approvers.allowed.1.github: "ALICE" is the id of another approver ("alice"): one login must name one person',
  ]);
  assert.deepEqual(
    problems(
      withApprovers('[{ id: alice, github: Deploy-Bot }, { id: bob }]').replace(
        'agents: ["airlock-agent[bot]"]',
        'agents: ["airlock-agent[bot]", deploy-bot]',
      ),
    ),
    [
      'approvers.allowed.0.github: "Deploy-Bot" is the agent identity "deploy-bot" (authors.agents) and can never approve',
    ],
  );
  assert.deepEqual(problems(withApprovers('[{ id: alice, github: "alice smith" }, { id: bob }]')), [
    'approvers.allowed.0.github: must be a GitHub login such as octocat',
  ]);
  // Each approver with a login of their own, one of them their id in another case, loads.
  const ok = parsePolicy(withApprovers('[{ id: alice, github: Alice }, { id: bob, github: bob-gh }]'), 'p.yaml');
  assert.deepEqual(
    ok.policy.approvers.allowed.map((a) => a.github),
    ['Alice', 'bob-gh'],
  );
});

test('approvers.maxBridgeApprovals: default required − 1, never a quorum, refused naming the field', () => {
  assert.equal(parsePolicy(minimal).policy.approvers.maxBridgeApprovals, undefined); // required − 1 applies
  const withCap = (cap: string, required = 2) =>
    minimal.replace(
      'approvers: { allowed: [',
      `approvers: { required: ${required}, maxBridgeApprovals: ${cap}, allowed: [{ id: carol }, `,
    );
  assert.equal(parsePolicy(withCap('0')).policy.approvers.maxBridgeApprovals, 0);
  assert.equal(parsePolicy(withCap('2', 3)).policy.approvers.maxBridgeApprovals, 2);
  assert.deepEqual(problems(withCap('2')), [
    'approvers.maxBridgeApprovals: is 2, but at most approvers.required − 1 (1) approvals may rest on the Slack bridge key: one leaked Slack signing secret must never make a quorum',
  ]);
  assert.deepEqual(problems(withCap('3', 3)), [
    'approvers.maxBridgeApprovals: is 3, but at most approvers.required − 1 (2) approvals may rest on the Slack bridge key: one leaked Slack signing secret must never make a quorum',
  ]);
  assert.match(problems(withCap('-1')).join(), /^approvers\.maxBridgeApprovals: must be 0 or more/);
  assert.match(problems(withCap('0.5')).join(), /^approvers\.maxBridgeApprovals: must be a whole number/);
  assert.match(problems(withCap('"one"')).join(), /^approvers\.maxBridgeApprovals: /);
});

test('unknown keys are refused (a typo must not silently fall back to a default)', () => {
  assert.match(problems(`${minimal}bake: { minHour: 1 }\n`).join(), /^bake: .*minHour/);
  assert.match(problems(`${minimal}rolback: { thresholdPercent: 50 }\n`).join(), /rolback/);
});

test('broken YAML is a PolicyError naming the problem, not a crash', () => {
  assert.match(problems('version: 1\napprovers: [\n').join(), /^YAML: /);
  assert.match(problems('a: &x [*x]\nb: *y\n').join(), /^YAML: /);
});

test('the hash changes with any byte of the file, so promotions record exactly which rules applied', () => {
  assert.notEqual(parsePolicy(minimal).hash, parsePolicy(`${minimal}\n`).hash);
});

test('rollback.onInsufficientEvidence: rollback by default, hold on request, anything else refused naming it', () => {
  assert.equal(parsePolicy(minimal).policy.rollback.onInsufficientEvidence, 'rollback');
  assert.equal(
    parsePolicy(`${minimal}rollback: { onInsufficientEvidence: hold }\n`).policy.rollback.onInsufficientEvidence,
    'hold',
  );
  const [p] = problems(`${minimal}rollback: { onInsufficientEvidence: wait }\n`);
  assert.match(p, /^rollback\.onInsufficientEvidence: .*"rollback"\|"hold"/);
});
