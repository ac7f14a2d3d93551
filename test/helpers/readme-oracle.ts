// An oracle for one promotion, written from the README's rules (the stage machine, the breach rule
// for the samples whose effect it fixes, silence, humans) and docs/approvals.md, not from the code under test: nothing here imports
// src/approvals or src/workflows. It reads what the server recorded (signals and updates with their
// payloads and times, activity schedule and completion times) and says which outcome the README
// implies and whether, and from when, production was allowed.
//
// Inputs are taken in the order the history records them. Times are intervals: an input happened at
// its history event and reached the workflow code at the start of the workflow task that took it in
// (seconds later while a worker restarts). Where an input and a clock event of the README (a bake or
// watch ending, a silence, the approval deadline) lie within MARGIN_MS of each other, the README
// does not say which came first on this server, and the verdict says it is undetermined.
import { ed25519 } from '@noble/curves/ed25519.js';
import { parse } from 'yaml';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export const MARGIN_MS = 5_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// ---------------------------------------------------------------------------------------------
// The policy, read from the YAML text with a plain YAML parser; README / docs defaults where absent.

export interface OraclePolicy {
  agents: string[];
  required: number;
  /** approver id → base64 ed25519 public key (absent: no key). */
  allowed: Map<string, string | undefined>;
  requireSignature: boolean;
  signatureWindowMs: number;
  bakeMs: number;
  canaryMs: number;
  watchMs: number;
  approvalMs: number;
  thresholdPercent: number;
  minRequestCount: number;
  baselineFloor: number;
  maxSilenceMs: number;
}

interface PolicyYaml {
  authors?: { agents?: string[] };
  approvers?: {
    required?: number;
    allowed?: Array<{ id: string; publicKey?: string }>;
    requireSignature?: boolean;
    signatureWindowMinutes?: number;
  };
  bake?: { minHours?: number };
  canary?: { minMinutes?: number };
  production?: { watchMinutes?: number };
  approval?: { timeoutHours?: number };
  rollback?: { thresholdPercent?: number; minRequestCount?: number; baselineFloor?: number };
  monitoring?: { maxSilenceMinutes?: number };
  integrations?: { slack?: { bridgePublicKey?: string } };
}

export function oraclePolicy(yamlText: string): OraclePolicy {
  const p = parse(yamlText) as PolicyYaml;
  // Slack decisions (signed by the server's bridge key) are not modelled: refused below.
  if (p.integrations?.slack?.bridgePublicKey) throw new Error('oracle: a Slack bridge key is not modelled');
  return {
    agents: p.authors?.agents ?? [],
    required: p.approvers?.required ?? 2,
    allowed: new Map((p.approvers?.allowed ?? []).map((a) => [a.id, a.publicKey] as const)),
    requireSignature: p.approvers?.requireSignature ?? true,
    signatureWindowMs: (p.approvers?.signatureWindowMinutes ?? 10) * MINUTE,
    bakeMs: (p.bake?.minHours ?? 24) * HOUR,
    canaryMs: (p.canary?.minMinutes ?? 30) * MINUTE,
    watchMs: (p.production?.watchMinutes ?? 30) * MINUTE,
    approvalMs: (p.approval?.timeoutHours ?? 72) * HOUR,
    thresholdPercent: p.rollback?.thresholdPercent ?? 5,
    minRequestCount: p.rollback?.minRequestCount ?? 100,
    baselineFloor: p.rollback?.baselineFloor ?? 0.001,
    maxSilenceMs: (p.monitoring?.maxSilenceMinutes ?? 10) * MINUTE,
  };
}

// ---------------------------------------------------------------------------------------------
// The breach rule (README "The breach rule"): samples carry counts and a watch's sequential test
// judges them together, so the oracle decides only the samples whose effect the README fixes
// whatever came before them, in exact integer arithmetic, and leaves the rest undetermined:
// - an interval without requests is no evidence: it neither breaches nor resets the silence clock;
// - an interval whose error rate is at most (1 + thresholdPercent/100) times its baseline's never
//   rolls back ("rolls back when the evidence shows ... more than thresholdPercent above"): a watch
//   whose every interval is at or under the threshold against one baseline shows no rise at all;
//   it is evidence for the silence clock;
// - an outage, every one of at least OUTAGE_REQUESTS requests failing beside a baseline under 50 %,
//   rolls back at once ("an outage's first samples already carry enough evidence"), whatever
//   healthy traffic came before it in the run (the runs send far fewer requests than that);
// - a sample without counts (rates only) is refused by the workflow: nothing.
// The first two hold against one baseline: the run's samples must all carry the same baseline rate
// (outages aside), or the verdict is undetermined. The runs send samples with at least 10,000
// requests beside a 1 % baseline over 100,000, which is traffic enough for every watch to be judged
// (README "Not enough traffic to judge"): rollback.onInsufficientEvidence never acts in them.

export const OUTAGE_REQUESTS = 1_000_000;

export interface SampleIn {
  environment: string;
  errors?: number;
  requests?: number;
  baselineErrors?: number;
  baselineRequests?: number;
  observedAt: string;
}
export type SampleVerdict = 'breach' | 'healthy' | 'inconclusive' | 'refused' | 'undetermined';

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

/** The sample's verdict by the README, for the kinds above; the baseline it was judged against, if any. */
export function readmeVerdict(s: SampleIn, p: OraclePolicy): SampleVerdict {
  const { errors, requests, baselineErrors: be, baselineRequests: bn } = s;
  if (!isCount(errors) || !isCount(requests) || !isCount(be) || !isCount(bn) || errors > requests || be > bn)
    return 'refused';
  if (requests === 0) return 'inconclusive';
  if (bn === 0) return 'undetermined';
  if (errors === requests && requests >= OUTAGE_REQUESTS && 2 * be < bn) return 'breach';
  // errors / requests ≤ (1 + t/100) × be / bn, t = thresholdPercent as a decimal fraction n/d.
  const m = /^(\d+)(?:\.(\d+))?$/.exec(String(p.thresholdPercent));
  if (!m) return 'undetermined';
  const t = { n: BigInt(m[1] + (m[2] ?? '')), d: 10n ** BigInt((m[2] ?? '').length) };
  const lhs = BigInt(errors) * BigInt(bn) * 100n * t.d;
  const rhs = (100n * t.d + t.n) * BigInt(be) * BigInt(requests);
  return lhs <= rhs ? 'healthy' : 'undetermined';
}

/** The baseline rate a healthy verdict was judged against, as a reduced fraction's text. */
export function baselineOf(s: SampleIn): string {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const e = BigInt(s.baselineErrors ?? 0);
  const n = BigInt(s.baselineRequests ?? 0);
  const g = gcd(e, n) || 1n;
  return `${e / g}/${n / g}`;
}

// ---------------------------------------------------------------------------------------------
// docs/approvals.md: an ed25519 signature over the canonical JSON array
// ["airlock-decision-v1", workflow id, action, approver, via, Slack user, comment or reason,
//  signing time, nonce]; absent optional fields as "" and an absent via as "cli". Once the gate has
// decided, over ["airlock-decision-v3", workflow id, commit, policy hash, production change digest
// or null, action, approver, via, Slack user, comment or reason, signing time, nonce].

export function canonicalBytes(c: {
  workflowId: string;
  /** The promotion's merge commit and policy hash: the v3 form. */
  binding?: { commit: string; policyHash: string };
  action: string;
  approver: string;
  via?: string;
  slackUser?: string;
  text?: string;
  at: string;
  nonce: string;
}): Uint8Array {
  const head = c.binding
    ? ['airlock-decision-v3', c.workflowId, c.binding.commit, c.binding.policyHash, null]
    : ['airlock-decision-v1', c.workflowId];
  const fields = [...head, c.action, c.approver, c.via ?? 'cli', c.slackUser ?? '', c.text ?? '', c.at, c.nonce];
  return new TextEncoder().encode(JSON.stringify(fields));
}

function signatureVerifies(bytes: Uint8Array, sigB64: unknown, keyB64: string): boolean {
  if (typeof sigB64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(sigB64)) return false;
  const sig = Buffer.from(sigB64, 'base64');
  const key = Buffer.from(keyB64, 'base64');
  if (sig.length !== 64 || key.length !== 32) return false;
  try {
    return ed25519.verify(sig, bytes, key);
  } catch {
    return false;
  }
}

interface DecisionIn {
  approver?: unknown;
  by?: unknown;
  comment?: unknown;
  reason?: unknown;
  via?: unknown;
  slackUser?: unknown;
  signature?: { at?: unknown; nonce?: unknown; value?: unknown };
}

/** Who may decide at all: an allowed approver who is not the author or an agent. */
function allowedHuman(who: unknown, p: OraclePolicy, author: string): string | undefined {
  const id = typeof who === 'string' ? who.trim() : '';
  if (!id || id === author || p.agents.includes(id) || !p.allowed.has(id)) return undefined;
  return id;
}

/**
 * Whether the decision's identity holds: signed by the approver's own key over this promotion,
 * action, approver, via and text, within the window of workflow time `now`, signature never used.
 * Unsigned approvals only where the policy allows them; unsigned stops from any allowed human.
 */
function identityHolds(
  action: 'approve' | 'reject' | 'abort',
  who: string,
  r: DecisionIn,
  text: string | undefined,
  now: number,
  promotion: { workflowId: string; binding: { commit: string; policyHash: string } },
  p: OraclePolicy,
  used: ReadonlySet<string>,
): { ok: boolean; why: string } {
  const key = p.allowed.get(who);
  const s = r.signature;
  if (r.via === 'slack') return { ok: false, why: 'via slack, and the policy has no bridge key' };
  if (!s) {
    if (action !== 'approve') return { ok: true, why: 'unsigned stop' };
    return key || p.requireSignature ? { ok: false, why: 'unsigned' } : { ok: true, why: 'unsigned allowed' };
  }
  if (!key) return { ok: false, why: 'signed, but no key' };
  if (typeof s.at !== 'string' || typeof s.nonce !== 'string' || typeof s.value !== 'string')
    return { ok: false, why: 'malformed signature' };
  const at = Date.parse(s.at);
  if (!(Math.abs(now - at) <= p.signatureWindowMs)) return { ok: false, why: `stale (${s.at})` };
  if (used.has(s.value)) return { ok: false, why: 'replayed' };
  const bytes = canonicalBytes({
    ...promotion,
    action,
    approver: who,
    via: typeof r.via === 'string' ? r.via : undefined,
    slackUser: typeof r.slackUser === 'string' && r.slackUser ? r.slackUser : undefined,
    text,
    at: s.at,
    nonce: s.nonce,
  });
  return signatureVerifies(bytes, s.value, key) ? { ok: true, why: 'signed' } : { ok: false, why: 'forged' };
}

// ---------------------------------------------------------------------------------------------
// What the server recorded.

/** A time interval: when it happened (lo) to when the workflow code saw it (hi). */
export interface Span {
  lo: number;
  hi: number;
}
const span = (lo: number, hi = lo): Span => ({ lo, hi: Math.max(lo, hi) });
const shift = (t: Span, ms: number): Span => ({ lo: t.lo + ms, hi: t.hi + ms });
/** The README cannot order a and b on this server: they overlap once widened by the margin. */
const near = (a: Span, b: Span) => a.lo - MARGIN_MS <= b.hi && b.lo - MARGIN_MS <= a.hi;

/** An input; `seq` orders inputs as the workflow took them in (the history's event index). */
export type Input =
  | { kind: 'sample'; seq: number; t: Span; via: string; sample: SampleIn }
  | { kind: 'approve' | 'reject' | 'abort'; seq: number; t: Span; via: string; req: DecisionIn; updateId?: string };

export interface Recorded {
  workflowId: string;
  /** The merge commit of the change the workflow was started with. */
  commit?: string;
  inputs: Input[];
  /**
   * `decidedSeq`: the index of the start of the workflow task that scheduled it; inputs with a lower
   * seq were in that task's history. Event times cannot order these: the time-skipping server stamps
   * a task's commands when the task completes, after signals that arrived while it ran.
   */
  activities: Array<{ type: string; scheduledAt: number; decidedSeq: number; completed?: Span; result?: unknown }>;
  /** Outcome of each approve/reject/abort update the server accepted: true when it succeeded. */
  updateSucceeded: Map<string, boolean>;
}

const millis = (e: temporal.api.history.v1.IHistoryEvent) =>
  Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
const decode = (p?: temporal.api.common.v1.IPayloads | null): unknown[] =>
  (p?.payloads ?? []).map((x) => defaultPayloadConverter.fromPayload(x));

/** Inputs and activity times from the history; each input's span ends when a workflow task took it in. */
export function readHistory(history: temporal.api.history.v1.IHistory, workflowId: string): Recorded {
  const events = history.events ?? [];
  const rec: Recorded = { workflowId, inputs: [], activities: [], updateSucceeded: new Map() };
  const byScheduledId = new Map<string, Recorded['activities'][number]>();
  // Things a workflow task must still take in: the workflow code sees them at that task's start.
  const waiting: Array<{ index: number; lo: number; set: (t: Span) => void }> = [];
  let started: { index: number; at: number } | undefined;
  events.forEach((e, index) => {
    const at = millis(e);
    if (e.workflowTaskStartedEventAttributes) started = { index, at };
    const start = e.workflowExecutionStartedEventAttributes;
    if (start) rec.commit ??= (decode(start.input)[0] as { change?: { commit?: string } } | undefined)?.change?.commit;
    if (e.workflowTaskCompletedEventAttributes && started) {
      const s = started;
      for (let i = waiting.length - 1; i >= 0; i--)
        if (waiting[i].index < s.index) {
          waiting[i].set(span(waiting[i].lo, s.at));
          waiting.splice(i, 1);
        }
    }
    const sch = e.activityTaskScheduledEventAttributes;
    if (sch) {
      const a = { type: sch.activityType!.name!, scheduledAt: at, decidedSeq: started?.index ?? index };
      rec.activities.push(a);
      byScheduledId.set(String(e.eventId), a);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const a = byScheduledId.get(String(done.scheduledEventId))!;
      a.result = decode(done.result)[0];
      a.completed = span(at);
      waiting.push({ index, lo: at, set: (t) => (a.completed = t) });
    }
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig) {
      const arg = decode(sig.input)[0];
      const seq = index;
      let input: Input | undefined;
      if (sig.signalName === 'errorRate')
        input = { kind: 'sample', seq, t: span(at), via: 'signal', sample: arg as SampleIn };
      if (sig.signalName === 'approve' || sig.signalName === 'reject' || sig.signalName === 'abort')
        input = { kind: sig.signalName, seq, t: span(at), via: 'signal', req: (arg ?? {}) as DecisionIn };
      if (input) {
        const x = input;
        rec.inputs.push(x);
        waiting.push({ index, lo: at, set: (t) => (x.t = t) });
      }
    }
    const acc = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (acc) {
      const name = acc.input?.name;
      if (name === 'approve' || name === 'reject' || name === 'abort') {
        // Validated and run in the workflow task that just completed: after the signals that came
        // before that task started, before those that came while it ran.
        const t = span(started?.at ?? at);
        const arg = decode(acc.input?.args)[0];
        rec.inputs.push({
          kind: name,
          seq: started?.index ?? index,
          t,
          via: 'update',
          req: (arg ?? {}) as DecisionIn,
          updateId: acc.meta?.updateId ?? undefined,
        });
      }
    }
    const upd = e.workflowExecutionUpdateCompletedEventAttributes;
    if (upd?.meta?.updateId) rec.updateSucceeded.set(upd.meta.updateId, !!upd.outcome?.success);
  });
  return rec;
}

// ---------------------------------------------------------------------------------------------
// The README's stage machine over those inputs.

export type StopKind = 'breach' | 'silence' | 'rejected' | 'aborted' | 'approval_timeout';
const OUTCOME: Record<StopKind, string> = {
  breach: 'rolled_back',
  silence: 'rolled_back',
  rejected: 'rejected',
  aborted: 'aborted',
  approval_timeout: 'timed_out',
};

export interface Verdict {
  /** The outcome the README implies. */
  outcome: string;
  stop?: { kind: StopKind; t: Span; what: string };
  /** When the second genuine approval completed the set before any stop: production allowed from then. */
  productionAllowedAt?: Span;
  /** Approvals the README accepts, in order, before the stop. */
  approvals: Array<{ who: string; seq: number; t: Span }>;
  /** Approve inputs whose signature is genuine (the approver's own key, this promotion, fresh, unused). */
  genuineSignatures: Array<{ who: string; t: Span }>;
  /** Every approve / reject / abort input: whether the README accepts it (refused: not allowed, not
   * genuine, not awaiting approval, a second approval by one person, or the promotion stopped). */
  decisions: Array<{
    seq: number;
    kind: string;
    via: string;
    accept: boolean;
    t: Span;
    /** Refused only because the approval set was complete, yet taken in by the very workflow task that
     * completed it: the README does not order the two, the workflow may still record it. */
    sameTaskAsCompletion?: true;
  }>;
  /** Per approve update before the stop: whether the README accepts it. */
  updateVerdicts: Array<{ updateId: string; accept: boolean; seq: number }>;
  /** Why the outcome is not determined here (empty when it is); production then is not either. */
  outcomeOpen: string[];
  /** Why "production or not" is not determined (a stop at the moment the approval set completed). */
  productionOpen: string[];
  /** The timeline and every input with the oracle's reading of it, for failure messages. */
  trace: string[];
}

type Phase = 'gate' | 'staging' | 'bake' | 'toCanary' | 'canary' | 'approval' | 'rollout' | 'watch' | 'over';
/** The environment each watch of the README's diagram watches. */
const WATCHED: Partial<Record<Phase, string>> = {
  bake: 'staging',
  canary: 'production',
  approval: 'production',
  rollout: 'production',
  watch: 'production',
};

export function readmeOracle(rec: Recorded, p: OraclePolicy, author: string): Verdict {
  const trace: string[] = [];
  const outcomeOpen: string[] = [];
  const productionOpen: string[] = [];
  const iso = (t: Span) => new Date(t.lo).toISOString() + (t.hi > t.lo ? `+${t.hi - t.lo}ms` : '');
  const act = (type: string) => rec.activities.find((a) => a.type === type);

  // Facts: when the gate answered and each rollout was ready. Where one is missing, the README says
  // when it should have come, and a workflow that stopped without reason shows in the outcome.
  const gate = act('evaluatePolicyGate');
  if (!gate?.completed) throw new Error('oracle: the policy gate never completed');
  const blocked = (gate.result as { decision?: string } | undefined)?.decision === 'block';
  // docs/approvals.md: decisions after the gate are signed for this commit and this policy's hash.
  const policyHash = (gate.result as { policyHash?: string } | undefined)?.policyHash ?? '(none)';
  const promotion = { workflowId: rec.workflowId, binding: { commit: rec.commit ?? '(none)', policyHash } };
  const fact = (type: string, predicted: Span) => act(type)?.completed ?? predicted;
  const T: Record<string, Span> = { gate: gate.completed };
  const end: Record<Exclude<Phase, 'over'>, () => Span> = {
    gate: () => T.gate,
    staging: () => (T.staging ??= fact('deployToEnvironment', T.gate)),
    bake: () => (T.bakeEnd ??= shift(T.staging, p.bakeMs)),
    toCanary: () => (T.canary ??= fact('deployCanary', T.bakeEnd)),
    canary: () => (T.canaryEnd ??= shift(T.canary, p.canaryMs)),
    approval: () => (T.deadline ??= shift(T.canaryEnd, p.approvalMs)),
    rollout: () => (T.rollout ??= fact('promoteCanary', T.approved)),
    watch: () => (T.watchEnd ??= shift(T.rollout, p.watchMs)),
  };
  const NEXT: Record<Exclude<Phase, 'over' | 'approval'>, Phase> = {
    gate: 'staging',
    staging: 'bake',
    bake: 'toCanary',
    toCanary: 'canary',
    canary: 'approval',
    rollout: 'watch',
    watch: 'over',
  };

  /** Where the README's diagram is (an object: closures move it on). */
  const where: { phase: Phase } = { phase: blocked ? 'over' : 'gate' };
  let stop: Verdict['stop'];
  /** Readiness of the change per environment: first (the breach rule) and current rollout (silence). */
  const firstReady: Record<string, Span | undefined> = {};
  const currentReady: Record<string, Span | undefined> = {};
  /** Last conclusive evidence per environment (readiness starts the clock). */
  const evidence: Record<string, { t: Span; what: string } | undefined> = {};
  /** The silence the clock would reach next, as of the last input: doubts when an input lands on it. */
  let nextSilence: { env: string; t: Span; what: string } | undefined;
  const approvals: Verdict['approvals'] = [];
  const genuineSignatures: Verdict['genuineSignatures'] = [];
  const updateVerdicts: Verdict['updateVerdicts'] = [];
  const decisions: Verdict['decisions'] = [];
  const used = new Set<string>();
  /** The baseline rates healthy samples were judged against: one, or the verdicts are undetermined. */
  const baselines = new Set<string>();
  /** Inputs that would stop the promotion or complete its approvals, for doubts about their order. */
  const decisive: Array<{ t: Span; what: string; seq: number; stop?: StopKind }> = [];

  const halt = (kind: StopKind, t: Span, what: string) => {
    stop = { kind, t, what };
    trace.push(`${iso(t)} STOP ${kind}: ${what}`);
    where.phase = 'over';
  };
  const enter = (next: Phase, at: Span) => {
    where.phase = next;
    trace.push(`${iso(at)} phase ${next}`);
    const ready = next === 'bake' ? T.staging : next === 'canary' ? T.canary : next === 'watch' ? T.rollout : undefined;
    const env = next === 'bake' ? 'staging' : 'production';
    if (ready) {
      firstReady[env] ??= ready;
      currentReady[env] = ready;
      evidence[env] = { t: ready, what: `${env} ready (${next})` };
    }
  };

  /** Runs the clock (phase ends, silence, the approval timeout) up to `to`, or to the end. */
  const advance = (to?: Span) => {
    if (where.phase !== 'over') nextSilence = undefined; // after a silence, it stays the one that fired
    while (where.phase !== 'over') {
      const phaseEnd = end[where.phase]();
      const env = WATCHED[where.phase];
      const ev = env ? evidence[env] : undefined;
      const silenceAt = ev ? shift(ev.t, p.maxSilenceMs) : undefined;
      // Silence or the end of the phase, whichever the clock reaches first before the next input.
      const due = !to || Math.min(silenceAt?.lo ?? Infinity, phaseEnd.lo) <= to.hi + MARGIN_MS;
      if (silenceAt && due && near(silenceAt, phaseEnd))
        outcomeOpen.push(`silence of ${env} (since ${ev!.what}) at ${iso(silenceAt)} vs end of ${where.phase}`);
      const silenceFirst = !!silenceAt && silenceAt.lo <= phaseEnd.lo;
      if (silenceFirst) nextSilence = { env: env!, t: silenceAt, what: ev!.what };
      const next = silenceFirst ? silenceAt : phaseEnd;
      if (to && next.lo > to.lo) return;
      if (silenceFirst) return halt('silence', silenceAt, `no conclusive ${env} sample since ${ev!.what}`);
      if (where.phase === 'approval')
        return halt('approval_timeout', phaseEnd, `${approvals.length} of ${p.required} approvals`);
      enter(NEXT[where.phase], phaseEnd);
    }
  };

  // In the order the workflow took them in (history order); their times run the clock.
  const inputs = [...rec.inputs].sort((a, b) => a.seq - b.seq);
  for (const x of inputs) {
    advance(x.t);
    const silence = nextSilence;
    const stopped = where.phase === 'over';
    if (x.kind === 'sample') {
      const s = x.sample;
      const env = s.environment;
      const judged = readmeVerdict(s, p);
      if (judged === 'undetermined') outcomeOpen.push(`sample #${x.seq}: the README does not fix its effect alone`);
      if (judged === 'healthy') {
        baselines.add(baselineOf(s));
        if (baselines.size > 1) outcomeOpen.push(`samples against different baselines (${[...baselines].join(', ')})`);
      }
      // A refused sample is nothing; an undetermined one is still evidence against silence.
      const verdict = judged === 'refused' ? 'inconclusive' : judged === 'undetermined' ? 'healthy' : judged;
      const observed = span(Date.parse(s.observedAt));
      const ready = firstReady[env];
      let reading: string = stopped ? `${verdict}, after the stop` : verdict;
      if (verdict === 'breach' && ready && near(observed, ready))
        outcomeOpen.push(`breach sample #${x.seq} observed at the readiness of ${env}`);
      const cur = currentReady[env];
      const evidenceNow = verdict !== 'inconclusive' && !!cur && observed.lo >= cur.lo;
      // Conclusive evidence landing on the silence deadline, on either side of it.
      if (evidenceNow && silence?.env === env && near(silence.t, x.t))
        outcomeOpen.push(
          `conclusive ${env} sample #${x.seq} at ${iso(x.t)}, the silence deadline (since ${silence.what})`,
        );
      if (verdict === 'inconclusive') {
        // neither a breach nor evidence
      } else if (!ready || observed.lo < ready.lo) reading = `stale (${reading})`;
      else if (verdict === 'breach') {
        decisive.push({ t: x.t, what: `breach sample #${x.seq}`, seq: x.seq, stop: 'breach' });
        if (!stopped) halt('breach', x.t, `sample #${x.seq} ${JSON.stringify(s)}`);
      } else if (!stopped) {
        if (evidenceNow) {
          const ev = evidence[env];
          if (!ev || x.t.lo >= ev.t.lo) evidence[env] = { t: x.t, what: `sample #${x.seq}` };
        } else reading = `healthy, observed before the current ${env} rollout`;
      }
      trace.push(
        `${iso(x.t)} #${x.seq} sample ${env} ${s.errors}/${s.requests} vs ${s.baselineErrors}/${s.baselineRequests} @${s.observedAt}: ${judged === verdict ? reading : `${judged}: ${reading}`}`,
      );
      continue;
    }
    const r = x.req;
    const who = allowedHuman(x.kind === 'abort' ? r.by : r.approver, p, author);
    if (x.kind === 'approve') {
      const text = typeof r.comment === 'string' && r.comment.trim() ? r.comment.trim() : undefined;
      const id = who
        ? identityHolds('approve', who, r, text, x.t.lo, promotion, p, used)
        : { ok: false, why: `not an allowed approver: ${JSON.stringify(r.approver)}` };
      // Freshness is judged at the workflow's time of the input: the span's other end must agree.
      const idLate = who ? identityHolds('approve', who, r, text, x.t.hi, promotion, p, used) : id;
      if (id.ok !== idLate.ok) outcomeOpen.push(`approval #${x.seq} at the edge of the signature window`);
      let accept = false;
      let why = id.why;
      if (id.ok) {
        genuineSignatures.push({ who: who!, t: x.t });
        decisive.push({ t: x.t, what: `genuine approval #${x.seq} by ${who}`, seq: x.seq });
        if (silence && near(silence.t, x.t) && where.phase === 'approval')
          outcomeOpen.push(`approval #${x.seq} at ${iso(x.t)} at the silence deadline (since ${silence.what})`);
        if (where.phase !== 'approval') why = `not awaiting approval (${where.phase})`;
        else if (approvals.some((a) => a.who === who)) why = `${who} already approved`;
        else {
          accept = true;
          approvals.push({ who: who!, seq: x.seq, t: x.t });
          if (r.signature && typeof r.signature.value === 'string') used.add(r.signature.value);
          if (approvals.length >= p.required) {
            T.approved = x.t;
            enter('rollout', x.t);
          }
        }
      }
      if (x.updateId && !stopped) updateVerdicts.push({ updateId: x.updateId, accept, seq: x.seq });
      const sameTask =
        id.ok && where.phase === 'rollout' && T.approved?.hi === x.t.hi && !approvals.some((a) => a.who === who);
      decisions.push({
        seq: x.seq,
        kind: x.kind,
        via: x.via,
        accept,
        t: x.t,
        ...(sameTask ? { sameTaskAsCompletion: true as const } : {}),
      });
      trace.push(`${iso(x.t)} #${x.seq} approve ${x.via} ${JSON.stringify(r.approver)}: ${accept ? 'ACCEPTED' : why}`);
      continue;
    }
    const reason = typeof r.reason === 'string' ? r.reason.trim() : '';
    const id = who && reason ? identityHolds(x.kind, who, r, reason, x.t.lo, promotion, p, used) : undefined;
    // README "Humans": reject by any allowed approver; abort at any stage.
    if (id?.ok) {
      const kind: StopKind = x.kind === 'reject' ? 'rejected' : 'aborted';
      decisive.push({ t: x.t, what: `${x.kind} #${x.seq} by ${who}`, seq: x.seq, stop: kind });
      if (silence && near(silence.t, x.t)) outcomeOpen.push(`${x.kind} #${x.seq} at the silence deadline`);
      if (r.signature && typeof r.signature.value === 'string') used.add(r.signature.value);
      if (!stopped) halt(kind, x.t, `${x.kind} by ${who}`);
    }
    decisions.push({ seq: x.seq, kind: x.kind, via: x.via, accept: !!id?.ok && !stopped, t: x.t });
    const name = JSON.stringify(x.kind === 'abort' ? r.by : r.approver);
    trace.push(
      `${iso(x.t)} #${x.seq} ${x.kind} ${x.via} ${name}: ${id?.ok ? 'GENUINE' : (id?.why ?? 'not an allowed human')}`,
    );
  }
  advance();

  // Doubts. Inputs are ordered by the history, so two of them never leave a doubt; an input and a
  // clock event (a phase ending, a silence or the approval deadline) do when they are close. And a
  // stop in the moment the approval set completed: the README starts production, a workflow task
  // that saw both may not.
  const clockStop = stop && (stop.kind === 'silence' || stop.kind === 'approval_timeout');
  for (const d of decisive) {
    if (clockStop && near(d.t, stop!.t))
      outcomeOpen.push(`${d.what} at ${iso(d.t)} vs ${stop!.kind} at ${iso(stop!.t)}`);
    if (T.canaryEnd && !d.stop && near(d.t, T.canaryEnd)) outcomeOpen.push(`${d.what} at the end of the canary watch`);
    if (T.deadline && near(d.t, T.deadline)) outcomeOpen.push(`${d.what} at the approval deadline`);
    if (T.watchEnd && d.stop && near(d.t, T.watchEnd)) outcomeOpen.push(`${d.what} at the end of the production watch`);
    if (T.approved && d.stop && near(d.t, T.approved) && d.t.lo >= T.approved.lo)
      productionOpen.push(`${d.what} at ${iso(d.t)} vs the approval set completed at ${iso(T.approved)}`);
  }
  if (stop && T.approved && near(stop.t, T.approved) && stop.t.lo >= T.approved.lo)
    productionOpen.push(`${stop.kind} at ${iso(stop.t)} vs the approval set completed at ${iso(T.approved)}`);

  const productionAllowedAt = T.approved && (!stop || stop.t.lo >= T.approved.lo) ? T.approved : undefined;
  const outcome = blocked ? 'blocked' : stop ? OUTCOME[stop.kind] : 'promoted';
  trace.unshift(
    `timeline: ${Object.entries(T)
      .map(([k, v]) => `${k}=${iso(v)}`)
      .join(' ')}`,
  );
  const outcomeDoubts = [...new Set(outcomeOpen)];
  return {
    outcome,
    ...(stop ? { stop } : {}),
    ...(productionAllowedAt ? { productionAllowedAt } : {}),
    approvals,
    genuineSignatures,
    updateVerdicts,
    decisions,
    outcomeOpen: outcomeDoubts,
    productionOpen: [...new Set([...productionOpen, ...outcomeDoubts])],
    trace,
  };
}
