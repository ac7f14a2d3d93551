// Generated bad input, more than 10,000 cases with a fixed seed (AIRLOCK_FAULT_SEED to change it;
// fast-check prints seed and path on failure): forged and replayed signatures, wrong types, huge
// bodies, unicode oddities, unknown services, unknown approvers, the author approving.
//   - HTTP: GitHub webhook, Slack interactions and /airlock, alert webhook (fastify inject).
//   - Update and signal arguments: approve / reject / abort updates and signals, errorRate signals,
//     batched against one real promotion that awaits its second approval.
//   - Policy files: parsePolicy.
// Each is answered with a 4xx or a refusal naming the field or reason; nothing crashes, no
// promotion starts, and the promotion's state is unchanged except for its refusal log.
import { afterAll, beforeAll, test } from 'vitest';
import { diagnostic } from '../helpers/diagnostic';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createServer } from '../../src/server/app';
import { parsePolicy, PolicyError } from '../../src/policy/config/load';
import { bindingOf } from '../../src/approvals/decision-binding';
import { signedRequest } from '../../src/approvals/signed-request';
import { approveUpdate, REFUSALS_KEPT, stateQuery, type PromotionState } from '../../src/workflows/messages';
import { createRig, devServerEnv, testPolicyYaml, type Rig } from '../helpers/harness';
import { testPublicKey, testSecretKey } from '../helpers/approver-keys';
import {
  alertCases,
  ALERT_TOKEN,
  DATADOG_TOKEN,
  decisionCases,
  described,
  GITHUB_SECRET,
  githubCases,
  hugeCases,
  policyCases,
  prFiles,
  SLACK_SECRET,
  slackCases,
  type DecisionCase,
  type HttpCase,
} from './bad-input-cases';
import { waitFor } from './fault-rig';
import { EXAMPLE_REPOSITORY, TEST_TEAM_ID, UNLIMITED_RATES } from '../server/server-rig';
import { responseUrlRefusal, SLACK_RESPONSE_BASE } from '../../src/integrations/slack/slack-poster';

const SEED = Number(process.env.AIRLOCK_FAULT_SEED ?? 20_261_125);
// Updates run one at a time: concurrent updates on one workflow invalidate each other's speculative
// workflow tasks and each then takes about a second (measured on the dev server, 2 cores).
const RUNS = { policy: 2500, http: 6500, updates: 600, signals: 900 };
const BODY_LIMIT = 32 * 1024; // above the GitHub example PR body (24 kB)
const POLICY = {
  bakeHours: 0.0005,
  canaryMinutes: 0.02,
  maxSilenceMinutes: 600,
  approvalTimeoutHours: 10,
  extra: `integrations:\n  slack: { bridgePublicKey: "${testPublicKey('slack-bridge')}" }\n`,
};
const failureHint = `(seed ${SEED}; rerun with AIRLOCK_FAULT_SEED=${SEED})`;

let env: TestWorkflowEnvironment;
let rig: Rig;
let app: FastifyInstance;
const slackAnswers: Array<Record<string, unknown>> = [];
const counts: Record<string, number> = {};
const tally = (kind: string) => void (counts[kind.replace(/ .*/, '')] = (counts[kind.replace(/ .*/, '')] ?? 0) + 1);

beforeAll(async () => {
  env = await devServerEnv();
  rig = createRig(env, { policy: POLICY });
  const policyText = testPolicyYaml(POLICY);
  app = createServer(
    {
      host: '127.0.0.1',
      port: 0,
      bodyLimit: BODY_LIMIT,
      // Thousands of requests from one address on purpose: the rate limits are tested elsewhere.
      rateLimits: UNLIMITED_RATES,
      github: { webhookSecret: GITHUB_SECRET, repositories: [EXAMPLE_REPOSITORY] },
      slack: { signingSecret: SLACK_SECRET, teamId: TEST_TEAM_ID, bridgeSecretKey: testSecretKey('slack-bridge') },
      alerts: { alertmanagerToken: ALERT_TOKEN, datadogToken: DATADOG_TOKEN },
    },
    {
      temporal: env.client,
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
      loadPolicy: () => parsePolicy(policyText, 'bad-input-policy').policy,
      pullRequestFiles: async (_repository, number) => prFiles.get(number) ?? [],
      pullRequestCommits: async () => ({ commits: 1, identities: ['airlock-agent[bot]'] }),
      slack: {
        refuses: (url) => responseUrlRefusal(url, [SLACK_RESPONSE_BASE]),
        respond: async (_url, message) => void slackAnswers.push(message),
      },
    },
  );
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

test(`policy files: ${RUNS.policy} bad policies are refused with a PolicyError naming the field`, () => {
  const valid = testPolicyYaml(POLICY);
  parsePolicy(valid); // the base is valid: every refusal below is the mutation's
  fc.assert(
    fc.property(policyCases(valid, parseYaml).map(described), (c) => {
      tally(c.kind);
      let refused: PolicyError | undefined;
      try {
        parsePolicy(c.text, 'generated');
      } catch (err) {
        if (!(err instanceof PolicyError)) throw new Error(`${c.kind}: crashed with ${String(err)}`);
        refused = err;
      }
      if (c.kind === 'policy garbage') return; // a truncation can still be a valid policy; it must not crash
      assert.ok(refused, `${c.kind}: accepted`);
      assert.ok(
        refused.problems.some((p) => c.names.test(p)),
        `${c.kind}: problems ${JSON.stringify(refused.problems).slice(0, 400)} do not name ${c.names}`,
      );
    }),
    { seed: SEED, numRuns: RUNS.policy, includeErrorInReport: true },
  );
});

/** Refusals quote what was sent; line separators in it must not hide the reason from a regex. */
const oneLine = (s: string) => s.replace(/[\n\r\u2028\u2029]/g, ' ');

const stable = (s: PromotionState) => {
  const { now: _now, refusals: _refusals, refusalsDropped: _d, bakeRemainingMs: _b, ...rest } = s;
  return rest;
};

test(
  `HTTP endpoints, update and signal arguments: ${RUNS.http + RUNS.updates + RUNS.signals} bad inputs change nothing`,
  { timeout: 240_000 },
  async () => {
    await rig.run(async () => {
      const h: WorkflowHandle = await rig.start();
      await waitFor(
        'awaiting_approval',
        async () => ((await h.query(stateQuery)).stage === 'awaiting_approval' ? true : undefined),
        60_000,
      );
      // alice approves for real, so "already approved" and replayed signatures have something to replay.
      const binding = bindingOf(await h.query(stateQuery));
      assert.ok(binding, 'the gate has decided: the promotion has a policy hash');
      const alice = signedRequest('approve', {
        binding,
        workflowId: h.workflowId,
        approver: 'alice',
        secretKey: testSecretKey('alice'),
        now: Date.now(),
      });
      await h.executeUpdate(approveUpdate, { args: [alice] });
      const before = await h.query(stateQuery);
      assert.deepEqual(
        before.approvals.map((a) => a.approver),
        ['alice'],
      );
      const promotions = async () =>
        (await env.client.workflow.count(`WorkflowType = 'promotion' AND TaskQueue = '${rig.taskQueue}'`)).count;
      const promotionsBefore = await promotions();
      assert.equal(promotionsBefore, 1);

      // ---- HTTP --------------------------------------------------------------------------------
      const commit = randomBytes(20).toString('hex');
      const seenSlackSignatures = new Set<string>();
      let slackLater = 0;
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(
          fc
            .oneof(
              { weight: 3, arbitrary: githubCases(commit) },
              { weight: 3, arbitrary: slackCases(h.workflowId, () => Math.floor(Date.now() / 1000)) },
              { weight: 3, arbitrary: alertCases() },
              { weight: 1, arbitrary: hugeCases(BODY_LIMIT) },
            )
            .map(described),
          async (c: HttpCase & { refusedLater?: boolean }) => {
            tally(c.kind);
            // The Slack verifier remembers signatures: a repeat of one is a replay and must be refused.
            const sig = c.url.startsWith('/slack') && c.status[0] !== 413 ? c.headers['x-slack-signature'] : undefined;
            const replay = !!sig && seenSlackSignatures.has(sig) && c.status.some((s) => s < 300 || s === 400);
            const res = await app.inject({ method: 'POST', url: c.url, payload: c.payload, headers: c.headers });
            if (sig && res.statusCode !== 401) seenSlackSignatures.add(sig);
            const body = res.body ? JSON.parse(res.body) : undefined;
            const what = `${c.kind}: ${res.statusCode} ${res.body.slice(0, 300)}`;
            if (replay) {
              assert.equal(res.statusCode, 401, what);
              assert.match(body.error, /replay/, what);
              return;
            }
            assert.ok(c.status.includes(res.statusCode), `${what} (expected ${c.status.join('|')})`);
            if (res.statusCode >= 400) assert.match(body.error, c.names, what);
            else if (res.statusCode === 202 && c.url === '/webhooks/github') assert.match(body.ignored, c.names, what);
            else if (c.url === '/slack/commands') assert.match(body.text, c.names, what);
            if (c.refusedLater) slackLater++;
          },
        ),
        { seed: SEED, numRuns: RUNS.http, includeErrorInReport: true },
      );
      diagnostic(`HTTP: ${RUNS.http} cases in ${Date.now() - started} ms`);

      // Slack decisions run after the acknowledgement: every one was refused, none approved.
      await waitFor(
        `${slackLater} Slack follow-ups`,
        () => (slackAnswers.length >= slackLater ? true : undefined),
        60_000,
      );
      assert.equal(slackAnswers.length, slackLater);
      for (const a of slackAnswers)
        assert.match(
          String(a.text ?? JSON.stringify(a.blocks)),
          /^Refused: Slack user|refused/,
          JSON.stringify(a).slice(0, 300),
        );

      // ---- Updates, batched against the one promotion ------------------------------------------
      const updateCases = fc.sample(
        decisionCases(h.workflowId, Date.now, alice, binding).filter(
          (c) => c.name !== 'errorRate' && c.name !== 'alert',
        ),
        { seed: SEED, numRuns: RUNS.updates },
      );
      const updStarted = Date.now();
      let refusedByHandler = 0;
      const runUpdate = async (c: DecisionCase, i: number) => {
        tally(`update-${c.kind}`);
        const where = `update #${i} ${c.kind} ${failureHint}: ${JSON.stringify(c.arg)?.slice(0, 300)}`;
        let err: unknown;
        try {
          await h.executeUpdate(c.name, { args: [c.arg] });
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof WorkflowUpdateFailedError, `${where}: accepted or failed oddly (${String(err)})`);
        const cause = err.cause as Error & { type?: string };
        assert.match(oneLine(cause.message), c.names, where);
        if (cause.type === 'AirlockDecisionRefused' && /signature|unsigned|bridge/.test(cause.message))
          refusedByHandler++;
      };
      for (const [i, c] of updateCases.entries()) await runUpdate(c, i);
      diagnostic(`updates: ${updateCases.length} in ${Date.now() - updStarted} ms`);

      // ---- Signals: refused ones are recorded in state.refusals, in order ----------------------
      const signalCases = fc.sample(decisionCases(h.workflowId, Date.now, alice, binding), {
        seed: SEED + 1,
        numRuns: RUNS.signals,
      });
      // The state keeps the newest REFUSALS_KEPT refusals and counts the older ones.
      const recorded = (x: PromotionState) => (x.refusalsDropped ?? 0) + x.refusals.length;
      const refusalsBefore = recorded(await h.query(stateQuery));
      for (const c of signalCases) {
        tally(`signal-${c.kind}`);
        await h.signal(c.name, c.arg);
      }
      const after = await waitFor(
        'signals handled',
        async () => {
          const s = await h.query(stateQuery);
          return recorded(s) >= refusalsBefore + signalCases.length ? s : undefined;
        },
        60_000,
      );
      assert.equal(recorded(after) - refusalsBefore, signalCases.length, 'every bad signal is refused and counted');
      assert.ok(after.refusals.length <= REFUSALS_KEPT, `at most ${REFUSALS_KEPT} refusals kept in the state`);
      const kept = Math.min(after.refusals.length, signalCases.length);
      const signalRefusals = after.refusals.slice(-kept);
      signalCases.slice(-kept).forEach((c, i) => {
        assert.equal(signalRefusals[i].action, c.name, `signal #${i} ${c.kind}`);
        assert.match(
          oneLine(signalRefusals[i].reason),
          c.names,
          `signal #${i} ${c.kind} ${failureHint}: ${JSON.stringify(c.arg)?.slice(0, 200)}`,
        );
      });

      // ---- Nothing started, nothing changed ----------------------------------------------------
      assert.equal(await promotions(), promotionsBefore, 'no promotion started');
      assert.equal(
        await env.client.workflow.count(`AirlockCommit = '${commit}'`).then((r) => r.count),
        0,
        'the forged merge started nothing',
      );
      assert.deepEqual(stable(after), stable(before), 'state unchanged except for the refusal log');
      assert.equal(after.stage, 'awaiting_approval');
      assert.ok(recorded(after) >= refusedByHandler + signalCases.length);
      diagnostic(
        `refusal log: ${recorded(after)} refusals, ${after.refusals.length} kept (identity refusals of updates + refused signals)`,
      );
    });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    diagnostic(`seed ${SEED}; cases by family: ${JSON.stringify(counts)}; total ${total}`);
  },
);
