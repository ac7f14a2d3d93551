// Issue 16 item 4, signed waivers, on the time-skipping server: a gate blocked only by waivable
// findings waits in awaiting_waiver; every blocking finding waived by two distinct allowed
// approvers lets the change go on through the full 24 h bake, the canary and the approval. An
// author's, a forged, a replayed, a duplicate or a misdirected waiver is refused and recorded; one
// waiver is not enough (the deadline ends it blocked); a non-waivable finding blocks at once.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { refusal } from '../helpers/update-refusal';
import { createRig, feed, promotedApprovals, state, timeSkippingEnv, untilStage, waitFor } from '../helpers/harness';
import { signedApproval, signedWaiver, testSecretKey } from '../helpers/approver-keys';
import type { Finding } from '../../src/policy/engine/finding';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waive } from '../../src/cli/waive';
import { runCli } from '../../src/cli/main';
import { encodeBase64 } from '../../src/approvals/base64';
import { CliError, ExitCode } from '../../src/cli/errors';
import {
  approveUpdate,
  waiveUpdate,
  type PromotionResult,
  type PromotionState,
  type WaiveRequest,
} from '../../src/workflows/messages';
import type { WorkflowHandle } from '@temporalio/client';

let env: TestWorkflowEnvironment;

/** `airlock <args>` against the test server; what it printed and its exit code. */
async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    client: async () => env.client,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A key file as `airlock keygen` writes it, holding `name`'s test key. */
function keyFile(name: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-waive-')), `${name}.key`);
  writeFileSync(file, `${encodeBase64(testSecretKey(name))}\n`, { mode: 0o600 });
  return file;
}
beforeAll(async () => void (env = await timeSkippingEnv()));
afterAll(() => env?.teardown());

const HOUR = 3_600_000;
const REPLICAS: Finding = {
  rule: 'replicas',
  level: 'block',
  file: 'k8s/prod/notification-service/deployment.yaml',
  line: 9,
  message: 'replicas 3 → 30 (more than 2×)',
};
const MEMORY: Finding = {
  rule: 'memory-increase',
  level: 'block',
  file: 'k8s/prod/notification-service/deployment.yaml',
  line: 21,
  message: 'memory limit 256Mi → 1Gi (4×)',
};
const WARNING: Finding = { rule: 'liveness-probe', level: 'warn', message: 'no liveness probe on worker' };
const FORBIDDEN: Finding = {
  rule: 'forbidden-path',
  level: 'block',
  file: 'terraform/prod/db.tf',
  message: 'terraform/prod/** is forbidden',
};

const findingsOf = (findings: Finding[]) => ({ deps: { checkChange: async () => findings } });
const awaitingWaiver = (h: WorkflowHandle) =>
  waitFor(
    () => state(h),
    (s) => s.stage === 'awaiting_waiver' || s.stage === 'ended',
    'stage awaiting_waiver',
  );
const idOf = (s: PromotionState, rule: string) => s.findings.find((f) => f.rule === rule)!.id!;

describe('signed waivers', () => {
  test('two distinct approvers waive every blocking finding: the change bakes 24 h and is promoted; bad waivers are refused and recorded', async () => {
    const rig = createRig(env, findingsOf([REPLICAS, MEMORY, WARNING]));
    await rig.run(async () => {
      // carol committed to the change: she may not waive it.
      const h = await rig.start({ authors: ['airlock-agent[bot]', 'carol'] });
      const s0 = await awaitingWaiver(h);
      assert.equal(s0.stage, 'awaiting_waiver');
      assert.equal(Date.parse(s0.waiverDeadline!) - Date.parse(s0.waiverRequestedAt!), 72 * HOUR);
      const replicas = idOf(s0, 'replicas');
      const memory = idOf(s0, 'memory-increase');
      const warning = idOf(s0, 'liveness-probe');
      const both = [replicas, memory];
      const send = async (req: Promise<WaiveRequest>) => refusal(h.executeUpdate(waiveUpdate, { args: [await req] }));

      const refused = [
        // An author.
        [await send(signedWaiver(env, h, 'carol', both)), /^waive: "carol" is one of the change's authors/],
        // Forged: alice's name, bob's key.
        [
          await send(signedWaiver(env, h, 'alice', both, 'ok', { key: 'bob' })),
          /^waive: signature does not verify with the public key of "alice" .*findings and reason: forged/,
        ],
        // Replayed: genuinely alice's, but signed for another merge of this workflow id, for another
        // promotion, or for one finding and sent as a waiver of two.
        [
          await send(signedWaiver(env, h, 'alice', both, 'ok', { binding: { commit: 'b'.repeat(40) } })),
          /covers a different commit\/policy than this promotion's \(stale\)/,
        ],
        [
          await send(signedWaiver(env, h, 'alice', both, 'ok', { workflowId: 'promotion-search-service-x' })),
          /signature does not verify/,
        ],
        [
          await send(signedWaiver(env, h, 'alice', both, 'ok', { signedFindings: [replicas] })),
          /signature does not verify/,
        ],
        // Naming a warning, or an id this promotion does not have.
        [await send(signedWaiver(env, h, 'alice', [warning])), /is a warning; only blocking findings are waived/],
        [await send(signedWaiver(env, h, 'alice', ['replicas-0000000000'])), /is not a finding of this promotion/],
      ] as const;
      for (const [reason, expected] of refused) assert.match(reason, expected);
      // Unsigned: never, whatever approvers.requireSignature says.
      assert.match(
        await refusal(h.executeUpdate(waiveUpdate, { args: [{ by: 'alice', findings: both, reason: 'ok' }] })),
        /unsigned; a waiver must be signed/,
      );
      // Approval is not what it waits for.
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] })),
        /not awaiting approval: stage is awaiting_waiver/,
      );

      // One approver is not enough, and cannot count twice.
      const first = await h.executeUpdate(waiveUpdate, { args: [await signedWaiver(env, h, 'alice', both)] });
      assert.deepEqual([first.complete, first.waiting], [false, both]);
      assert.match(
        await send(signedWaiver(env, h, 'alice', [memory], 'again')),
        /"alice" has already waived .*different person/,
      );
      // `airlock waive`: an id the promotion does not have is refused before anything is sent.
      const bobWaives = (finding: string, reason: string) =>
        cli('waive', h.workflowId, '--as', 'bob', '--key', keyFile('bob'), '--finding', finding, '--reason', reason);
      const typo = await bobWaives('replicas-0', 'x');
      assert.equal(typo.code, ExitCode.Usage);
      assert.match(typo.err, /waive: --finding: "replicas-0" is not a finding of this promotion/);
      // A second approver, one finding at a time (the first with the CLI): complete once both have two.
      const second = await bobWaives(replicas, 'load test at 30 replicas passed');
      assert.equal(second.code, ExitCode.Ok, second.err);
      assert.match(
        second.out,
        new RegExp(`^waived ${replicas} of ${h.workflowId} \\(signed for commit .*\\); still waiting: ${memory}$`),
      );
      const third = await h.executeUpdate(waiveUpdate, {
        args: [await signedWaiver(env, h, 'bob', [memory], 'memory headroom checked')],
      });
      assert.deepEqual([third.complete, third.waiting], [true, []]);

      const s1 = await state(h);
      // Every refused waiver is in the history (the approval was refused by its validator, unrecorded).
      assert.equal(s1.refusals.length, 9, s1.refusals.map((r) => r.reason).join('\n'));
      assert.ok(s1.refusals.every((r) => r.action === 'waive'));
      assert.deepEqual(
        s1.waivers!.map((w) => [w.by, w.findings, w.attribution, w.via]),
        [
          ['alice', both, 'approver-key', 'cli'],
          ['bob', [replicas], 'approver-key', 'cli'],
          ['bob', [memory], 'approver-key', 'cli'],
        ],
      );
      assert.ok(s1.waivers!.every((w) => w.keyId && w.checkedPolicyHash === s1.policyHash));

      // Then exactly like an allowed change: staging, the full 24 h bake, canary, approval.
      const s2 = await feed(env, h, { stop: untilStage('awaiting_approval') });
      assert.equal(Date.parse(s2.bakeEndsAt!) - Date.parse(s2.stagingReadyAt!), 24 * HOUR);
      assert.ok(Date.parse(s2.canaryStartedAt!) >= Date.parse(s2.bakeEndsAt!), 'the canary started after the bake');
      assert.ok(Date.parse(s2.stagingReadyAt!) >= Date.parse(s1.waivers![2].at), 'staging came after the waivers');
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      assert.deepEqual(await promotedApprovals(env, h), [
        ['alice', 'approver-key'],
        ['bob', 'approver-key'],
      ]);
      const r: PromotionResult = await h.result();
      assert.equal(r.waivers?.length, 3);
      assert.ok(rig.reports.some((p) => p.stage === 'awaiting_waiver'));
    });
  });

  test('one waiver is not enough: the deadline ends the promotion blocked, saying no waiver came', async () => {
    const rig = createRig(env, findingsOf([REPLICAS]));
    await rig.run(async () => {
      const h = await rig.start();
      const s0 = await awaitingWaiver(h);
      const replicas = idOf(s0, 'replicas');
      // The signal twin of the update: judged the same way.
      await h.signal('waive', await signedWaiver(env, h, 'alice', [replicas]));
      await h.signal('waive', await signedWaiver(env, h, 'carol', [replicas], 'x', { key: 'alice' }));
      const s1 = await waitFor(
        () => state(h),
        (s) => s.refusals.length === 1 && (s.waivers?.length ?? 0) === 1,
        'the signalled waivers judged',
      );
      assert.equal(s1.stage, 'awaiting_waiver');
      assert.match(s1.refusals[0].reason, /signature does not verify with the public key of "carol"/);
      assert.equal(s1.waivers![0].via, 'cli');
      const r: PromotionResult = await h.result(); // the server skips to the 72 h deadline
      assert.equal(r.outcome, 'blocked');
      assert.deepEqual(r.interruption, { kind: 'waiver_timeout', hours: 72, waiting: [replicas] });
      const s2 = await state(h);
      assert.deepEqual(s2.deployed, []);
      const endedAfter = Date.parse(s2.endedAt!) - Date.parse(s0.waiverRequestedAt!);
      assert.ok(endedAfter >= 72 * HOUR && endedAfter < 72 * HOUR + 60_000, `ended ${endedAfter} ms after`);
    });
  });

  test('a blocking finding that is not waivable blocks at once; airlock waive refuses to name it', async () => {
    const rig = createRig(env, findingsOf([REPLICAS, FORBIDDEN]));
    await rig.run(async () => {
      const h = await rig.start();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'blocked');
      assert.equal(r.interruption, undefined);
      assert.deepEqual(
        r.findings.map((f) => [f.rule, f.waivable]),
        [
          ['replicas', true],
          ['forbidden-path', false],
        ],
      );
      assert.ok(!rig.reports.some((p) => p.stage === 'awaiting_waiver'), 'it never waited for a waiver');
      const forbidden = r.findings[1].id!;
      const err = await waive({
        client: env.client,
        workflowId: h.workflowId,
        approver: 'alice',
        privateKey: testSecretKey('alice'),
        findings: [forbidden],
        reason: 'please',
      }).catch((e: unknown) => e);
      assert.ok(err instanceof CliError && err.exitCode === ExitCode.Usage, String(err));
      assert.match(err.message, /--finding: .*\(forbidden-path\) is not waivable under the policy/);
    });
  });
});
