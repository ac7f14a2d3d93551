// Every signal, query and update of Airlock and its payload types, shared by workflows, worker,
// server and CLI. Wire names are frozen once deployed: change a payload, never a name.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Attribution } from '../approvals/verify-decision';
import type { DecisionSignature } from '../approvals/decision-signature';
import type { Finding } from '../policy/engine/finding';
import type { PromotionSettings } from '../policy/config/schema';
import type { PromotionContinuation } from './promotion/continuation';
import type { SequentialTestState } from './sequential-breach-test';

export type Environment = 'staging' | 'production';

export const STAGES = [
  'policy_gate',
  /**
   * The gate blocked, but every blocking finding is waivable: the promotion waits for signed
   * waivers (docs/policy-engine.md, Waivers). Before `queued`: it holds no slot (activities/slot.ts).
   */
  'awaiting_waiver',
  'queued',
  'staging',
  'baking',
  /**
   * Blast-radius scope `production`: baked, holding only its service's lease, queued for the
   * production slot (canary through production watch); staging stays watched (exposure.ts).
   */
  'queued_for_production',
  'frozen',
  'canary',
  'awaiting_approval',
  'production',
  'rolling_back',
  /** A restore failed: the promotion holds its slot until a human resolves it (airlock resolve). */
  'awaiting_resolution',
  'ended',
] as const;
export type Stage = (typeof STAGES)[number];

/** Refusals kept in the state: a flood of bad decisions must not grow every report and the history. */
export const REFUSALS_KEPT = 50;

export const OUTCOMES = [
  'promoted',
  'blocked',
  'rolled_back',
  'rejected',
  'aborted',
  'timed_out',
  'failed',
  /** A restore did not finish: something of the change is still deployed (state.deployed says what). */
  'rollback_failed',
  /** Never deployed: a later merge of the service joined it, and the promotion named in supersededBy carries it. */
  'superseded',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One merged commit touching one service. */
export interface Change {
  service: string;
  /** The merge commit SHA (40 hex). */
  commit: string;
  /** The commit the change was merged onto; the policy gate compares the two trees. */
  baseCommit?: string;
  /** Identity that made the change (the agent), for display; never an approver. */
  author: string;
  /**
   * Everyone who made the change and so may not approve it: on a merged pull request its opener,
   * every commit's author and committer (GitHub logins, or git emails and names where GitHub knows
   * none) and the merger; on a push the pusher and the commits' claimed authors. Absent in
   * histories from before it; `author` always counts too.
   */
  authors?: string[];
  /** What gets deployed: an image tag or artifact version. */
  version: string;
  repository?: string;
  title?: string;
  mergedAt?: string;
}

/** One merged change a release train carries (docs/release-trains.md), oldest first. */
export interface TrainCommit {
  commit: string;
  baseCommit?: string;
  author: string;
  title?: string;
  mergedAt?: string;
  /** The promotion that was started for it (superseded unless it is the carrier). */
  workflowId: string;
}

/** A restart of an in-flight promotion with a later merge of its service (trains.whileInFlight `restart`). */
export interface TrainRestart {
  at: string;
  /** The promotion started for the later merge: superseded, its commit carried here. */
  by: string;
  commit: string;
  /** Where this promotion stood when it stopped for the restart. */
  fromStage: Stage;
  /** Approvals given to the previous diff, void from here on. */
  approvalsVoided: string[];
  /** The canary was taken out of production (restored to the snapshot before it). */
  canaryRestored: boolean;
}

/** What a superseded promotion hands to the one that carries it. */
export interface CarriedTrain {
  change: Change;
  train: TrainCommit[];
}

export interface PromotionInput {
  /** Payload version, so the input can evolve without breaking running histories. */
  v: 1;
  change: Change;
  /** Task queue and id of the blast-radius workflow to queue on; defaults to the shared one. */
  slotWorkflowId?: string;
  /**
   * Events after which a run continues as new at its next safe point (default 5,000; the server's
   * own suggestion counts too). Lowered only by tests and benches, to see continue-as-new quickly.
   */
  historyLimit?: number;
  /** Set only by the promotion itself when it continues as new: everything the next run resumes from. */
  continued?: PromotionContinuation;
}

export interface ErrorRateSample {
  environment: Environment;
  /** Error rate as a fraction, 0..1 (with counts: errors / requests). */
  rate: number;
  /** The rate this one is compared with, 0..1 (pre-deploy for staging, stable version for the canary). */
  baseline: number;
  requestCount: number;
  /**
   * Counts over one interval, disjoint from the previous sample's (docs/monitoring.md): what the
   * sequential breach test judges. `baseline*`: the stable version over the same interval (canary),
   * or the environment before the deploy (staging, production after the rollout).
   */
  errors?: number;
  requests?: number;
  baselineErrors?: number;
  baselineRequests?: number;
  /** ISO-8601 time the sample was measured. */
  observedAt: string;
  source?: string;
}

/**
 * What an `errorRate` signal carries: counts over one interval (docs/monitoring.md). Promotions
 * started before patch 'counts-only' also accept the old rate-only shape; the workflow parses
 * either (payload-schemas.ts) and derives the rates from the counts.
 */
export interface ErrorRateSampleCounts {
  environment: Environment;
  errors: number;
  requests: number;
  baselineErrors: number;
  baselineRequests: number;
  /** ISO-8601 time the sample was measured. */
  observedAt: string;
  source?: string;
}

/**
 * A firing alert of the service's alerting system (Alertmanager, a Datadog monitor): its own
 * verdict, acted on as a rollback when it is about the change, never fed into the statistics.
 */
export interface FiringAlert {
  environment: Environment;
  /** alertname, or the Datadog monitor's title. */
  name: string;
  /** "alertmanager" or "datadog". */
  source: string;
  /** When the alerting system says it started firing (ISO-8601). */
  startsAt: string;
  /** The version the alert describes (its `version` label or tag); absent: service-wide. */
  version?: string;
  /** Where to look: Alertmanager's generatorURL, Datadog's link. */
  url?: string;
}

/** One alert webhook request's firing alerts for one promotion: one signal, however many alerts. */
export interface AlertSignal {
  alerts: FiringAlert[];
  /** Distinct firing alerts of the request beyond the ones carried (they add no new verdict). */
  more?: number;
}

export interface ApprovalRequest {
  approver: string;
  comment?: string;
  /** How the decision reached Airlock: cli, slack, signal (raw Temporal signal), ... */
  via?: string;
  /** ed25519 signature by the approver's key (cli) or the server's Slack bridge key (slack). */
  signature?: DecisionSignature;
  /** The Slack user the bridge verified (via: 'slack' only); covered by the signature. */
  slackUser?: string;
  /**
   * The digest of the production change approved (state.productionChange.digest); covered by the
   * signature. Required when the promotion shows one: an approval is of content, not of a name.
   */
  changeDigest?: string;
}

export interface RejectRequest {
  approver: string;
  reason: string;
  via?: string;
  signature?: DecisionSignature;
  slackUser?: string;
}

export interface AbortRequest {
  by: string;
  reason: string;
  via?: string;
  signature?: DecisionSignature;
  slackUser?: string;
}

/** A human says a failed rollback has been dealt with by hand; signed like an approval. */
export interface ResolveRequest {
  approver: string;
  note: string;
  via?: string;
  signature?: DecisionSignature;
  slackUser?: string;
}

/**
 * A signed waiver: `by` lifts the blocking findings named (their ids) for this promotion's commit
 * and policy, for the reason given. Signed like an approval, under its own domain (airlock-waiver-v1).
 */
export interface WaiveRequest {
  by: string;
  /** Ids of blocking, waivable findings of this promotion (state.findings[].id). */
  findings: string[];
  reason: string;
  via?: string;
  signature?: DecisionSignature;
  slackUser?: string;
}

/** An accepted waiver, as the state, the check run and `airlock report` show it. */
export interface Waiver {
  by: string;
  at: string;
  findings: string[];
  reason: string;
  via: string;
  attribution: Attribution;
  /** The first characters of the public key that verified it (the approver's, or the Slack bridge's). */
  keyId?: string;
  /** Hash of the policy file the key was checked against when it arrived (revocation). */
  checkedPolicyHash?: string;
}

export interface WaiverResult {
  waivers: Waiver[];
  required: number;
  /** Blocking findings still short of `required` distinct waivers. */
  waiting: string[];
  /** true once every blocking finding is waived: the promotion goes on to the queue. */
  complete: boolean;
}

export interface Approval {
  approver: string;
  at: string;
  via: string;
  comment?: string;
  /** How the approver's identity was established (absent in histories from before signatures). */
  attribution?: Attribution;
  /** The production change approved (state.productionChange.digest), when the promotion shows one. */
  changeDigest?: string;
  /** Hash of the policy file the approval's key was checked against when it arrived (revocation). */
  checkedPolicyHash?: string;
}

export interface ApprovalResult {
  approvals: Approval[];
  required: number;
  /** true once this approval completed the set. */
  complete: boolean;
}

/** Why a gate opened the emergency door: the evidence the rollback is recorded with. */
export type Interruption =
  /** A later merge of the service joined this queued promotion; `by` carries its commits. */
  | { kind: 'superseded'; by: string }
  /**
   * trains.whileInFlight `restart`: the gate blocked the combined change this promotion restarted
   * with (`commit` the newest head); nothing of it may deploy, so both environments are restored.
   */
  | { kind: 'train_blocked'; commit: string; blocking: string[] }
  | {
      kind: 'breach';
      sample: ErrorRateSample;
      thresholdPercent: number;
      baselineUsed: number;
      risePercent: number;
      evidence?: ErrorRateEvidence;
      /** The sequential test's verdict in words: counts, ratio, likelihood ratio against 1/α. */
      test?: string;
    }
  /** The service's alerting system fired about the change (or service-wide) while it ran there. */
  | {
      kind: 'alert';
      alert: FiringAlert;
      /** Workflow time the alert reached the promotion (ISO-8601). */
      receivedAt: string;
      /** The version under watch, or service-wide: what the alert was taken to be about. */
      about: string;
      /** It was already firing when the change became ready there (still firing after). */
      firingBeforeReady: boolean;
    }
  /** A watch ended without the traffic to judge it, and rollback.onInsufficientEvidence is rollback. */
  | {
      kind: 'insufficient_evidence';
      watch: 'staging' | 'canary' | 'production';
      environment: Environment;
      requests: number;
      /** About how many requests the test needed to catch a doubling (null: none would, at this baseline). */
      needed: number | null;
    }
  | {
      kind: 'silence';
      environment: Environment;
      silentMinutes: number;
      silentSince: string;
      evidence?: ErrorRateEvidence;
    }
  | { kind: 'rejected'; by: string; reason: string }
  | { kind: 'aborted'; by: string; reason: string }
  | { kind: 'approval_timeout'; hours: number }
  /** The gate blocked on waivable findings and no complete set of waivers came in time: outcome blocked. */
  | { kind: 'waiver_timeout'; hours: number; waiting: string[] }
  | { kind: 'deploy_failed'; environment: Environment; message: string }
  /** Any other activity failed for good (after its retries, or at once when not retryable). */
  | { kind: 'activity_failed'; activity: string; message: string }
  | { kind: 'invariant_violated'; message: string }
  /**
   * The promotion's execution ended outside its own code (terminated, timed out, failed; the
   * server's history limit terminates): it ran no rollback, so the slot's reaper started the
   * compensation workflow `compensation`, which restores the recorded snapshots instead.
   */
  | { kind: 'workflow_ended'; status: string; endedAt?: string; compensation: string };

/** What a metrics-source watch saw in one window (docs/monitoring.md); recorded in history, so small. */
export interface ErrorRateEvidence {
  /** "prometheus http://…" or "datadog https://…". */
  source: string;
  polls: number;
  conclusive: number;
  inconclusive: number;
  missing: number;
  /** Last conclusive evidence, ms since the epoch. */
  lastEvidenceAt: number;
  /** Newest samples, oldest first. */
  recent: ErrorRateSample[];
  /** Newest polls without usable data, with the source's reason; oldest first. */
  recentMissing: { at: string; reason: string }[];
  /** When the last poll's counting interval ended (ms): the next interval starts there. */
  lastPollAt?: number;
  /** The watch's sequential breach test after the last poll with counts, and in words. */
  test?: SequentialTestState;
  testEvidence?: string;
}

export interface ErrorRateSummary {
  samples: number;
  inconclusive: number;
  stale: number;
  /** Metrics-source polls that returned no usable data (docs/monitoring.md). */
  missing?: number;
  last?: ErrorRateSample;
  /** Highest relative rise over baseline seen in this promotion, in percent. */
  worstRisePercent?: number;
  /** Samples that carried only rates: judged by the per-sample rule, which rolls back on noise. */
  rateOnly?: number;
  /**
   * Healthy signal samples from a source the policy does not trust (monitoring.signalSources):
   * neither evidence against silence nor fed to the tests.
   */
  untrusted?: number;
  /** Metrics-source watch results refused because their evidence was dated after workflow time. */
  futureEvidence?: number;
  /** Each watch's sequential breach test so far, in words (sequential-breach-test.ts). */
  tests?: Partial<Record<'staging' | 'canary' | 'production', string>>;
  /**
   * Watches that ended with too little traffic for their test to have caught a doubling of the
   * error rate: requests seen, about how many it needed (rollback.onInsufficientEvidence decides).
   */
  insufficient?: Partial<Record<'staging' | 'canary' | 'production', { requests: number; needed: number | null }>>;
  /** Firing alerts received, and the ones not acted on with why (newest last, a few). */
  alerts?: { received: number; ignored: number; recentIgnored: Array<{ name: string; reason: string }> };
}

/**
 * One image reference the staging deploy set, and what its pods reported running. With `digest`,
 * the canary and the production rollout receive `reference@digest` (what baked), not the tag.
 */
export interface StagedImage {
  /** The reference staging was given, e.g. "registry.example/app:v2". */
  reference: string;
  /** The containers of the workload that run it. */
  containers: string[];
  /** The registry digest (sha256:…) every staged pod reported, or the one the reference names. */
  digest?: string;
  /** Why there is no digest: production receives the mutable reference, maybe another image. */
  unpinned?: string;
}

export interface PromotionState {
  workflowId: string;
  change: Change;
  stage: Stage;
  outcome?: Outcome;
  /** Current workflow time, so a client can compute countdowns without trusting its own clock. */
  now: string;
  policyHash?: string;
  settings?: PromotionSettings;
  /** True when the policy allowed a bake under 24 h: shown loudly by every status view. */
  shortBake: boolean;
  findings: Finding[];
  /**
   * The merged changes this promotion carries, oldest first, when it carries more than its own
   * (a release train: change.baseCommit is the oldest base, change.commit the newest head).
   */
  train?: TrainCommit[];
  /** Ended superseded: the promotion that carries this one's commits. */
  supersededBy?: string;
  /** trains.whileInFlight `restart`: a later merge asked this promotion to restart with it (accepted, not yet done). */
  restartRequest?: { by: string; change: Change };
  /** Every restart with a later merge, oldest first: the bake began again at each. */
  restarts?: TrainRestart[];
  queuePosition?: number;
  /** Blast-radius scope `production`: the slot covers canary through production watch (exposure.ts). */
  blastRadiusScope?: 'production';
  /** When that scope's production slot was granted (confirmed); absent while only the lease is held. */
  productionSlotAt?: string;
  stagingReadyAt?: string;
  bakeEndsAt?: string;
  bakeRemainingMs?: number;
  canaryStartedAt?: string;
  canaryWatchEndsAt?: string;
  approvalRequestedAt?: string;
  approvalDeadline?: string;
  /**
   * The production diff (server-side dry-run) and Terraform plan approvers decide on, computed as
   * the approval is requested; `text` is cut at PREVIEW_CHARS (`omittedChars` says how much is left).
   */
  productionChange?: { text: string; digest: string; notes: string[]; omittedChars?: number };
  approvals: Approval[];
  /** When the promotion started waiting for waivers, and until when (stage awaiting_waiver). */
  waiverRequestedAt?: string;
  waiverDeadline?: string;
  /** Accepted waivers, oldest first (absent until the first one). */
  waivers?: Waiver[];
  /** What ran in staging, per image reference: the digests the canary and production receive. */
  stagedImages?: StagedImage[];
  /** What each deploy did, in the deployer's words (the canary's says what it skipped and why). */
  deploys?: Array<{ activity: string; at: string; summary: string }>;
  /** Approvals voided because production changed between approval and rollout (asked again). */
  approvalsVoided?: Array<{ at: string; approvers: string[]; reason: string }>;
  /** The newest refusals (at most REFUSALS_KEPT); older ones are counted in refusalsDropped. */
  refusals: Array<{ at: string; who: string; action: string; reason: string }>;
  refusalsDropped?: number;
  errorRate: ErrorRateSummary;
  deployed: Environment[];
  interruption?: Interruption;
  rollback?: { startedAt: string; steps: string[]; finishedAt?: string; error?: string };
  /** Who resolved a failed rollback by hand, and what they did. */
  resolution?: { by: string; note: string; at: string };
  endedAt?: string;
}

export type PromotionResult = Pick<
  PromotionState,
  'outcome' | 'interruption' | 'findings' | 'approvals' | 'policyHash' | 'waivers' | 'train' | 'supersededBy'
> & {
  /** Given when superseded, so the carrier can read what it carries even after this run ended. */
  carried?: CarriedTrain;
  outcome: Outcome;
  workflowId: string;
};

// Promotion workflow messages.
export const errorRateSignal = defineSignal<[ErrorRateSampleCounts]>('errorRate');
export const alertSignal = defineSignal<[AlertSignal]>('alert');
export const approveSignal = defineSignal<[ApprovalRequest]>('approve');
export const rejectSignal = defineSignal<[RejectRequest]>('reject');
export const abortSignal = defineSignal<[AbortRequest]>('abort');
export const approveUpdate = defineUpdate<ApprovalResult, [ApprovalRequest]>('approve');
export const resolveUpdate = defineUpdate<{ accepted: true }, [ResolveRequest]>('resolve');
export const rejectUpdate = defineUpdate<{ accepted: true }, [RejectRequest]>('reject');
export const abortUpdate = defineUpdate<{ accepted: true }, [AbortRequest]>('abort');
export const waiveSignal = defineSignal<[WaiveRequest]>('waive');
export const waiveUpdate = defineUpdate<WaiverResult, [WaiveRequest]>('waive');
export const stateQuery = defineQuery<PromotionState>('state');
/** From the promotion that joined this queued one's slot-queue entry: end superseded, hand over the train. */
export const supersedeUpdate = defineUpdate<CarriedTrain, [{ by: string }]>('supersede');
/**
 * From a later merge's promotion of the same service (trains.whileInFlight `restart`): this in-flight
 * promotion stops where it is, restores its canary and restarts from staging with the combined change.
 */
export const restartUpdate = defineUpdate<{ train: TrainCommit[] }, [{ by: string }]>('restartWithTrain');

// Blast-radius slot messages, between promotions and the slot workflow.
export interface SlotRequest {
  workflowId: string;
  service: string;
  /** Ignored by slot workflows from slot-v2 on (limits come from the policy); kept for older runs. */
  maxServicesInFlight: number;
  maxStartsPerHour: number;
  /**
   * Blast-radius scope `production`: asks for the service's lease only (staging to the production
   * slot; one per service, counted against no limit). The holder's next request without it asks
   * for the production slot.
   */
  lease?: true;
}
export interface SlotQueueEntry {
  workflowId: string;
  service: string;
  requestedAt: string;
  /** Promotions whose place this entry took over, oldest first (release trains). */
  replaced?: string[];
  /** Joined before its gate ran: keeps its place but is not granted until the promotion asks. */
  pending?: boolean;
  /** Blast-radius scope `production`: a request for the service's lease (slot-leases.ts). */
  lease?: true;
}
/** A promotion asks to take over the queued entry of its service (release trains). */
export interface JoinQueuedRequest {
  workflowId: string;
  service: string;
}
export interface JoinQueuedResult {
  /** The promotion whose entry was taken over, to be superseded; absent when none was queued. */
  supersedes?: string;
  position?: number;
}
export interface SlotHolder {
  workflowId: string;
  service: string;
  grantedAt: string;
  /** Holds its service's lease only, not one of the maxServicesInFlight slots. */
  lease?: true;
  /**
   * The holder ended without its own rollback (terminated, timed out, failed): the id of the
   * compensation workflow restoring it. The slot stays held until that has ended cleanly.
   */
  compensation?: string;
}
export interface SlotState {
  holders: SlotHolder[];
  queue: SlotQueueEntry[];
  startsInLastHour: string[];
  maxServicesInFlight: number;
  maxStartsPerHour: number;
  /** When the hourly limit next lets a start through, if it is what holds the queue. */
  nextStartAllowedAt?: string;
  /** Releases refused because the promotion named had not ended (newest 20). */
  refusals?: Array<{ at: string; workflowId: string; reason: string }>;
}
export const requestSlotSignal = defineSignal<[SlotRequest]>('requestSlot');
export const releaseSlotSignal = defineSignal<[{ workflowId: string }]>('releaseSlot');
export const slotStateQuery = defineQuery<SlotState>('slots');
export const joinQueuedUpdate = defineUpdate<JoinQueuedResult, [JoinQueuedRequest]>('joinQueued');
/** A join whose supersede was refused: the place goes back to the promotion that had it. */
export const leaveQueuedUpdate = defineUpdate<{ restored: boolean }, [{ workflowId: string; giveBackTo: string }]>(
  'leaveQueued',
);
/** Sent by the slot workflow to a queued promotion. */
export const slotGrantedSignal = defineSignal<[{ grantedAt: string }]>('slotGranted');
export const queuePositionSignal = defineSignal<[{ position: number }]>('queuePosition');

export const DEFAULT_SLOT_WORKFLOW_ID = 'airlock-blast-radius';

/**
 * Memo of a promotion's continued runs: when its first run started (ISO). Visibility lists a
 * continued run with its own start time, and the alert route needs the promotion's.
 */
export const PROMOTION_STARTED_MEMO = 'airlockPromotionStartedAt';

/** The compensation of a promotion that ended without its rollback: one per promotion, so two reapers never run two. */
export function compensationWorkflowId(promotionWorkflowId: string): string {
  return `compensate-${promotionWorkflowId}`;
}

/** Deterministic id: one promotion per service and commit, so a duplicate start finds the first. */
export function promotionWorkflowId(change: Pick<Change, 'service' | 'commit'>): string {
  return `promotion-${change.service}-${change.commit}`;
}
