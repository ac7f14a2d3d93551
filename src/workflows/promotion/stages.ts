// One function per box of the README's diagram. A stage returns when its box is done and throws
// Interrupted when the promotion must stop (state.interruption says why); index.ts unwinds.
import * as wf from '@temporalio/workflow';
import { HOUR_MS, MINUTE_MS } from '../../common/durations';
import { formatMinutes } from '../../common/format';
import { ErrorRateMonitor } from '../error-rate-monitor';
import type { Change, Environment, Stage, StagedImage } from '../messages';
import { controlActs, deployActs, readActs } from './activity-options';
import { Interrupted, iso, Restart, type GatedContext, type PromotionContext } from './context';
import { watch, type WatchResult } from './watch';
import { cancelAfterGrace } from './cancel-after-grace';
import { takeScope } from './exposure';
import { trustedSignalSources } from '../untrusted-evidence';
import { waiverProgress, waitsForWaiver } from '../../common/waiver-quorum';

interface StepWhat {
  /** The activity's name, for the interruption a failure becomes. */
  activity: string;
  /** A deploy to this environment: a failure is `deploy_failed`, and a stop cancels it (v2). */
  deploy?: Environment;
}

/**
 * Every side effect goes through here: a stop accepted before it is honoured before it starts, and a
 * failure (retryable ones after their attempts, others at once) becomes an interruption, so the
 * rollback runs. Promotions replayed from before v2 keep their old behaviour: only deploys were
 * guarded, other failures failed the workflow.
 */
export async function step<T>(ctx: PromotionContext, what: StepWhat, run: () => Promise<T>): Promise<T> {
  if (ctx.v2 && ctx.state.interruption) throw new Interrupted();
  let result: T;
  try {
    result = ctx.v2 && what.deploy ? await stoppable(ctx as GatedContext, what.deploy, run) : await run();
  } catch (err) {
    if (err instanceof Interrupted || wf.isCancellation(err)) throw err;
    const message = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    if (what.deploy) ctx.interrupt({ kind: 'deploy_failed', environment: what.deploy, message });
    else if (ctx.v2) ctx.interrupt({ kind: 'activity_failed', activity: what.activity, message });
    else throw err;
    throw new Interrupted();
  }
  if ((ctx.v2 || what.deploy) && ctx.state.interruption) throw new Interrupted();
  return result;
}

/**
 * A deploy that a stop cancels. The deploy activities wait for cancellation to complete, so when
 * this returns or throws the activity has ended and a restore cannot race a retried apply. Where the
 * change is already live (the full rollout after the canary) the error rate stays watched.
 */
async function stoppable<T>(ctx: GatedContext, environment: Environment, run: () => Promise<T>): Promise<T> {
  const scope = new wf.CancellationScope();
  let settled = false;
  const running = scope.run(run).finally(() => {
    settled = true;
  });
  try {
    if (ctx.state.deployed.includes(environment)) {
      // Not a safe point: the rollout activity is running.
      await watch(ctx, environment, Date.now() + 24 * HOUR_MS, `watch ${environment} during the rollout`, {
        done: () => settled,
      });
    } else {
      await wf.condition(() => settled || !!ctx.state.interruption);
    }
  } catch (err) {
    await running.catch(() => undefined); // cancelled from outside: wait for the activity to end
    throw err;
  }
  await cancelAfterGrace(scope, () => settled);
  try {
    return await running;
  } catch (err) {
    if (wf.isCancellation(err) && ctx.state.interruption) throw new Interrupted();
    throw err;
  }
}

/** A wait that ended other than as planned: a stop unwinds, a release train's restart starts over (restart.ts). */
export function stopped(r: WatchResult): never {
  throw r === 'restart' ? new Restart() : new Interrupted();
}

const stopUnlessElapsed = (r: WatchResult) => {
  if (r !== 'elapsed') stopped(r);
};

/** A stage after the policy gate; `resumesIn`: the stage whose wait a continued run resumes in it. */
export type GatedStage = ((ctx: GatedContext) => Promise<void>) & { resumesIn?: Stage };

/** What a deployer that renders from the repository reads: the merge commit and its base. */
const changeRef = (change: Change) => ({
  commit: change.commit,
  ...(change.baseCommit ? { baseCommit: change.baseCommit } : {}),
});

/** Snapshot, push its restore, deploy: the sequence every environment goes through. */
async function deployWithRestore(
  ctx: GatedContext,
  environment: Environment,
  deploy: { activity: string; run: () => Promise<{ summary: string; images?: StagedImage[] }> },
): Promise<{ images?: StagedImage[] }> {
  // Restarted with a later merge (restart.ts): the restore recorded before the first deploy stays the one to run.
  if (!ctx.rollback.has(environment)) await recordRestore(ctx, environment);
  const result = await step(ctx, { activity: deploy.activity, deploy: environment }, deploy.run);
  recordDeploy(ctx, deploy.activity, result);
  return result;
}

/** Snapshot `environment` as it is before the change, and push its restore onto the rollback plan. */
async function recordRestore(ctx: GatedContext, environment: Environment): Promise<void> {
  const { change } = ctx;
  const before = await step(ctx, { activity: 'snapshotEnvironment' }, () =>
    readActs.snapshotEnvironment.executeWithOptions({ summary: `record ${environment} before the change` }, [
      change.service,
      environment,
      changeRef(change),
    ]),
  );
  ctx.rollback.push({ label: `restore ${environment}`, environment, snapshot: before });
}

/**
 * What ran in staging, for the canary and the rollout: a reference staging ran at one digest is
 * deployed at that digest (the deployer decides; the workflow only carries it, so nothing it
 * schedules changes and no patch is needed). Absent for promotions staged before this existed.
 */
const stagedImages = (ctx: GatedContext) => (ctx.state.stagedImages ? { images: ctx.state.stagedImages } : {});

/** Characters of a deployer's summary kept in the state. */
const DEPLOY_SUMMARY_CHARS = 1_000;

/**
 * What each deploy did, in the deployer's words, where status, the check run and the Web UI show
 * it: e.g. that the canary was skipped (no pod template changes) and what it did not exercise.
 */
function recordDeploy(ctx: GatedContext, activity: string, result: { summary: string }): void {
  const summary = result.summary.slice(0, DEPLOY_SUMMARY_CHARS);
  ctx.state.deploys = [...(ctx.state.deploys ?? []), { activity, at: iso(Date.now()), summary }];
}

export async function policyGate(ctx: PromotionContext): Promise<GatedContext | 'blocked'> {
  ctx.report();
  const gate = await step(ctx, { activity: 'evaluatePolicyGate' }, () =>
    controlActs.evaluatePolicyGate.executeWithOptions({ summary: 'policy gate on the change content' }, [ctx.change]),
  );
  const { state } = ctx;
  ctx.settings = gate.settings;
  // Samples with counts are judged by the sequential breach test (sequential-breach-test.ts).
  ctx.monitor = new ErrorRateMonitor(
    gate.settings.rollback,
    wf.patched('late-canary-evidence'),
    undefined,
    wf.patched('sequential-breach-test'),
    wf.patched('insufficient-evidence'),
  );
  // Only sources the policy trusts keep a watch from being silent (untrusted-evidence.ts).
  if (wf.patched('trusted-evidence')) {
    const trusted = trustedSignalSources(gate.settings.monitoring);
    if (trusted) ctx.monitor.trustSignalsFrom(trusted);
  }
  // Only policies with a metrics source schedule the watch activity; older histories never had one.
  ctx.metricsWatch =
    !!(gate.settings.monitoring.prometheus || gate.settings.monitoring.datadog) && wf.patched('metrics-watch');
  state.settings = gate.settings;
  state.policyHash = gate.policyHash;
  state.findings = gate.findings;
  state.shortBake = gate.shortBake;
  if (gate.decision === 'block') {
    // Blocked only by waivable findings: the next stage waits for signed waivers (waiver-stage.ts).
    return waitsForWaiver(gate.findings) && wf.patched('signed-waivers') ? (ctx as GatedContext) : 'blocked';
  }
  ctx.evidence.gateAllowed = true;
  return ctx as GatedContext;
}

/** How long a queued promotion waits before asking again: a slot workflow created anew lost its queue. */
const REQUEST_AGAIN_MS = 10 * MINUTE_MS;

export async function queue(ctx: GatedContext): Promise<void> {
  ctx.setStage('queued');
  ctx.slot.requested = true;
  const { maxServicesInFlight, maxStartsPerHour } = ctx.settings.blastRadius;
  const lease = takeScope(ctx); // scope production: the service's lease now, the slot before the canary
  const request = () =>
    step(ctx, { activity: 'requestSlot' }, () =>
      controlActs.requestSlot.executeWithOptions({ summary: 'queue for the blast-radius slot' }, [
        ctx.slotWorkflowId,
        { workflowId: ctx.workflowId, service: ctx.change.service, maxServicesInFlight, maxStartsPerHour, ...lease },
      ]),
    );
  await request();
  if (!wf.patched('slot-v2')) {
    await wf.condition(() => ctx.slot.granted || !!ctx.state.interruption);
    if (ctx.state.interruption) throw new Interrupted();
    return;
  }
  // A grant is a signal anyone can send: it counts once the slot workflow says we hold a slot.
  for (;;) {
    const heard = await wf.condition(() => ctx.slot.granted || !!ctx.state.interruption, REQUEST_AGAIN_MS);
    if (ctx.state.interruption) throw new Interrupted();
    if (!heard) {
      await request();
      continue;
    }
    const grantsSeen = ctx.slot.grants;
    const holder = await step(ctx, { activity: 'isSlotHolder' }, () =>
      controlActs.isSlotHolder.executeWithOptions({ summary: 'confirm the grant with the slot workflow' }, [
        ctx.slotWorkflowId,
        ctx.workflowId,
      ]),
    );
    if (holder) return;
    if (ctx.slot.grants !== grantsSeen) continue; // another grant came meanwhile: confirm that one
    ctx.slot.granted = false;
    ctx.refuse({
      who: 'slotGranted',
      action: 'slotGranted',
      reason: 'grant not confirmed: the slot workflow does not list this promotion as a holder',
    });
  }
}

export async function staging(ctx: GatedContext): Promise<void> {
  const { change, state } = ctx;
  ctx.setStage('staging');
  const staged = await deployWithRestore(ctx, 'staging', {
    activity: 'deployToEnvironment',
    run: () =>
      deployActs.deployToEnvironment.executeWithOptions({ summary: `deploy ${change.version} to staging` }, [
        { service: change.service, environment: 'staging', version: change.version, change: changeRef(change) },
      ]),
  });
  if (staged.images) state.stagedImages = staged.images;
  if (!state.deployed.includes('staging')) state.deployed.push('staging'); // listed already after a restart
  ctx.evidence.stagingReadyAt = Date.now();
  ctx.monitor.deployed('staging', ctx.evidence.stagingReadyAt);
}

// The long waits below are safe points (`safePoint`): nothing that changes an environment runs
// during them, so a run may continue as new there; the next run calls the same stage, which finds
// its wait in ctx.resumedAt() and skips what came before it (each step happened exactly once).

/** The bake is measured from readiness in staging, by a server-side timer: nothing shortens it. */
export async function bake(ctx: GatedContext): Promise<void> {
  const { evidence, settings, state } = ctx;
  let bakeEndsAt = ctx.resumedAt('baking');
  if (bakeEndsAt === undefined) {
    evidence.bakeMs = settings.bake.minHours * HOUR_MS;
    bakeEndsAt = evidence.stagingReadyAt + evidence.bakeMs;
    state.stagingReadyAt = iso(evidence.stagingReadyAt);
    state.bakeEndsAt = iso(bakeEndsAt);
    ctx.setStage('baking');
  }
  stopUnlessElapsed(
    await watch(ctx, 'staging', bakeEndsAt, `bake ${formatMinutes(settings.bake.minHours * 60)} in staging`, {
      safePoint: true,
    }),
  );
  judgeTraffic(ctx, 'staging', 'staging');
  evidence.bakeEndedAt = Date.now();
}
bake.resumesIn = 'baking' as const;

/**
 * A watch that ended with too little traffic for its test to have caught a doubling of the error
 * rate is no evidence of health: rollback.onInsufficientEvidence rolls back (as silence does) or
 * holds on, with the shortfall in every view for the approvers (the monitor's summary).
 */
function judgeTraffic(ctx: GatedContext, watch: 'staging' | 'canary' | 'production', environment: Environment): void {
  const shortfall = ctx.monitor.trafficShortfall(watch);
  if (!shortfall || ctx.settings.rollback.onInsufficientEvidence === 'hold') return;
  ctx.interrupt({ kind: 'insufficient_evidence', watch, environment, ...shortfall });
  throw new Interrupted();
}

/** A planned-operation window holds the deploy; staging stays watched. */
export async function freeze(ctx: GatedContext): Promise<void> {
  let frozenUntil = ctx.resumedAt('frozen');
  let reason = 'planned operation';
  if (frozenUntil === undefined) {
    const wait = await step(ctx, { activity: 'deployWaitMs' }, () =>
      controlActs.deployWaitMs.executeWithOptions({ summary: 'check planned-operation windows' }, [
        ctx.change.service,
        'production',
      ]),
    );
    if (wait.waitMs <= 0) return;
    ctx.setStage('frozen');
    frozenUntil = Date.now() + wait.waitMs;
    reason = wait.reason ?? reason;
  }
  stopUnlessElapsed(await watch(ctx, 'staging', frozenUntil, `frozen: ${reason}`, { safePoint: true }));
}
freeze.resumesIn = 'frozen' as const;

export async function canary(ctx: GatedContext): Promise<void> {
  const { change, settings, state } = ctx;
  let canaryEndsAt = ctx.resumedAt('canary');
  if (canaryEndsAt === undefined) {
    ctx.setStage('canary');
    await deployWithRestore(ctx, 'production', {
      activity: 'deployCanary',
      run: () =>
        deployActs.deployCanary.executeWithOptions(
          { summary: `canary ${change.version} on ${settings.canary.percent}% of production` },
          [
            {
              service: change.service,
              version: change.version,
              percent: settings.canary.percent,
              change: changeRef(change),
              ...stagedImages(ctx),
            },
          ],
        ),
    });
    state.deployed.push('production');
    const canaryAt = Date.now();
    ctx.monitor.deployed('production', canaryAt);
    canaryEndsAt = canaryAt + settings.canary.minMinutes * MINUTE_MS;
    state.canaryStartedAt = iso(canaryAt);
    state.canaryWatchEndsAt = iso(canaryEndsAt);
  }
  stopUnlessElapsed(
    await watch(ctx, 'production', canaryEndsAt, `canary watch ${formatMinutes(settings.canary.minMinutes)}`, {
      safePoint: true,
    }),
  );
  judgeTraffic(ctx, 'canary', 'production');
  ctx.evidence.canaryClean = true;
}
canary.resumesIn = 'canary' as const;

/** Two distinct allowed humans, never an author; the canary stays watched until then. */
/** Characters of the production diff kept in the state (every report and query copies it). */
const PREVIEW_CHARS = 6_000;

/** What approvers decide on: the production diff and plans as they stand now, not the change's description. */
async function previewProduction(ctx: GatedContext): Promise<void> {
  const { change, state } = ctx;
  const preview = await step(ctx, { activity: 'previewChange' }, () =>
    readActs.previewChange.executeWithOptions({ summary: 'the production change, for the approvers' }, [
      { service: change.service, environment: 'production', change: changeRef(change), ...stagedImages(ctx) },
    ]),
  );
  if (!preview) return; // an image-tag deployer: the change is the version
  const omitted = preview.text.length - PREVIEW_CHARS;
  state.productionChange = {
    text: omitted > 0 ? preview.text.slice(0, PREVIEW_CHARS) : preview.text,
    digest: preview.digest,
    notes: preview.notes,
    ...(omitted > 0 ? { omittedChars: omitted } : {}),
  };
  // Approvals cannot change a refusal: asking two people for one would waste their time and the canary's.
  if (preview.refused && wf.patched('preview-refusal')) {
    ctx.interrupt({ kind: 'deploy_failed', environment: 'production', message: preview.refused });
    throw new Interrupted();
  }
}

export async function awaitApproval(ctx: GatedContext, opts: { previewed?: boolean } = {}): Promise<void> {
  const { settings, state } = ctx;
  let deadline = ctx.resumedAt('awaiting_approval');
  if (deadline === undefined) {
    if (!opts.previewed && wf.patched('production-preview')) await previewProduction(ctx);
    const requestedAt = Date.now();
    deadline = requestedAt + settings.approval.timeoutHours * HOUR_MS;
    state.approvalRequestedAt = iso(requestedAt);
    state.approvalDeadline = iso(deadline);
    ctx.setStage('awaiting_approval');
  }
  const required = settings.approvers.required;
  const r = await watch(ctx, 'production', deadline, `awaiting ${required} approvals (canary still watched)`, {
    done: () => state.approvals.length >= required,
    safePoint: true,
  });
  if (r === 'elapsed') ctx.interrupt({ kind: 'approval_timeout', hours: settings.approval.timeoutHours });
  if (r !== 'done') stopped(r);
}
awaitApproval.resumesIn = 'awaiting_approval' as const;

export async function production(ctx: GatedContext): Promise<void> {
  const { change, settings } = ctx;
  let watchEndsAt = ctx.resumedAt('production');
  if (watchEndsAt === undefined) {
    // Accepted in the same moment as the last approval: the restart wins, nothing rolls out.
    if (ctx.state.restartRequest) throw new Restart();
    const violation = productionGateViolation(ctx);
    if (violation) {
      ctx.interrupt({ kind: 'invariant_violated', message: violation });
      throw new Interrupted();
    }
    if (ctx.state.productionChange && wf.patched('production-drift-check')) await approvedChangeStillLive(ctx);
    ctx.setStage('production');
    const result = await step(ctx, { activity: 'promoteCanary', deploy: 'production' }, () =>
      deployActs.promoteCanary.executeWithOptions({ summary: `roll out ${change.version} to all of production` }, [
        { service: change.service, version: change.version, change: changeRef(change), ...stagedImages(ctx) },
      ]),
    );
    recordDeploy(ctx, 'promoteCanary', result);
    const rolledOutAt = Date.now();
    ctx.monitor.deployed('production', rolledOutAt);
    watchEndsAt = rolledOutAt + settings.production.watchMinutes * MINUTE_MS;
  }
  stopUnlessElapsed(
    await watch(ctx, 'production', watchEndsAt, `production watch ${formatMinutes(settings.production.watchMinutes)}`, {
      safePoint: true,
    }),
  );
  judgeTraffic(ctx, 'production', 'production');
}
production.resumesIn = 'production' as const;

/**
 * Production may have changed since the approvers saw its diff (someone edited a live object, the
 * canary's Deployment was scaled): the diff is computed again right before the rollout, and when
 * its digest differs the approvals are void and the approvers are asked again, on the new diff.
 */
async function approvedChangeStillLive(ctx: GatedContext): Promise<void> {
  const { state } = ctx;
  for (;;) {
    const approved = state.productionChange!.digest;
    await previewProduction(ctx);
    const live = state.productionChange!.digest;
    if (live === approved) break;
    state.approvalsVoided = [
      ...(state.approvalsVoided ?? []),
      {
        at: iso(Date.now()),
        approvers: state.approvals.map((a) => a.approver),
        reason: `production changed after approval: the diff was ${approved}, is now ${live}`,
      },
    ];
    wf.log.warn('production drifted after approval; asking the approvers again', { approved, live });
    state.approvals = [];
    await awaitApproval(ctx, { previewed: true });
  }
  const stale = state.approvals.filter((a) => a.changeDigest !== state.productionChange!.digest);
  if (stale.length) {
    ctx.interrupt({
      kind: 'invariant_violated',
      message: `approvals of ${stale.map((a) => a.approver).join(', ')} are not of the production change being rolled out`,
    });
    throw new Interrupted();
  }
}

/** Re-checks every invariant of DESIGN.md from recorded evidence; a violation is a bug, never a gate. */
export function productionGateViolation(ctx: GatedContext): string | undefined {
  const { evidence, settings: s, state, change } = ctx;
  const approvers = new Set(state.approvals.map((a) => a.approver));
  if (!evidence.gateAllowed && !evidence.gateWaived) return 'policy gate did not allow the change';
  if (evidence.gateWaived) {
    const waived = waiverProgress(state.findings, state.waivers ?? [], s.approvers.required);
    if (!waived.complete) return `blocking findings not waived: ${waived.waiting.join(', ')}`;
    const signers = new Set((state.waivers ?? []).map((w) => w.by));
    for (const a of signers) if (!s.approvers.allowed.some((x) => x.id === a)) return `waiver by ${a} not allowed`;
  }
  if (!evidence.stagingReadyAt || evidence.bakeEndedAt - evidence.stagingReadyAt < evidence.bakeMs)
    return 'bake incomplete';
  if (!evidence.canaryClean) return 'canary watch incomplete';
  if (approvers.size < s.approvers.required) return `only ${approvers.size} distinct approvers`;
  for (const a of approvers) {
    if (a === change.author || s.authors.agents.includes(a) || !s.approvers.allowed.some((x) => x.id === a))
      return `approver ${a} not allowed`;
  }
  return undefined;
}
