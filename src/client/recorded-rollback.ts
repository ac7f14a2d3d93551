// What a promotion's history says is still deployed, for the compensation of a promotion that ended
// without running its own rollback (terminated, timed out, failed).
//
// Read from the history, not from a memo or the last reported state: every promotion, whatever
// code it started on, recorded each snapshot it took (the result of a completed
// `snapshotEnvironment`) and each deploy it scheduled, and those are the facts. A deploy that was
// scheduled may have half-applied (or still been applying when the workflow ended), so every
// snapshot followed by a scheduled deploy to its environment is restored, unless the promotion
// itself completed the restore of that snapshot after its last deploy there. Runs that continued
// as new are read oldest first, so a snapshot taken in an earlier run is not forgotten.
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { EnvironmentSnapshot } from '../integrations/deployer';
import { fetchRunHistories } from './run-histories';
import type { PromotionSettings } from '../policy/config/schema';
import type { Change, Environment, PromotionInput } from '../workflows/messages';

/** One restore the compensation must run: the snapshot recorded before the change touched `environment`. */
export interface RecordedRestore {
  label: string;
  environment: Environment;
  snapshot: EnvironmentSnapshot;
}

export interface RecordedRollback {
  change: Change;
  /** The settings the promotion's policy gate returned (rollback retries, approvers for `resolve`). */
  settings?: PromotionSettings;
  /** The hash of that policy: a `resolve` of the compensation is signed for it (decision-binding.ts). */
  policyHash?: string;
  /** How the promotion's execution ended: TERMINATED, TIMED_OUT, FAILED, COMPLETED, RUNNING, ... */
  status: string;
  endedAt?: string;
  /** The promotion reached its own ending (it asked to release its slot): nothing is left to undo. */
  finished: boolean;
  /** Restores to run, oldest first (they run newest first). */
  restores: RecordedRestore[];
  /** Environments whose restore the promotion itself completed after its last deploy there. */
  restoredByPromotion: Environment[];
}

/** One activity event of the history (in the order of the events, oldest run first). */
export type ActivityEvent =
  | { kind: 'scheduled'; name: string; args: unknown[] }
  | { kind: 'completed'; name: string; args: unknown[]; result: unknown };

const DEPLOY_TARGET: Record<string, (args: unknown[]) => Environment | undefined> = {
  deployToEnvironment: (a) => (a[0] as { environment?: Environment } | undefined)?.environment,
  deployCanary: () => 'production',
  promoteCanary: () => 'production',
};

/** The rule above, over a promotion's activity events in history order. Pure. */
export function restoresFromHistory(
  events: ActivityEvent[],
): Pick<RecordedRollback, 'restores' | 'restoredByPromotion' | 'finished' | 'settings' | 'policyHash'> {
  const recorded: Array<{ snapshot: EnvironmentSnapshot; deployed: boolean }> = [];
  const restoredByPromotion = new Set<Environment>();
  let settings: PromotionSettings | undefined;
  let policyHash: string | undefined;
  let finished = false;
  for (const e of events) {
    if (e.kind === 'scheduled') {
      if (e.name === 'releaseSlot') finished = true;
      const environment = DEPLOY_TARGET[e.name]?.(e.args);
      if (!environment) continue;
      // A deploy lands on the newest snapshot of its environment (the canary's, for the full rollout).
      const target = [...recorded].reverse().find((r) => r.snapshot.environment === environment);
      if (target) target.deployed = true;
      restoredByPromotion.delete(environment);
    } else if (e.name === 'snapshotEnvironment') {
      recorded.push({ snapshot: e.result as EnvironmentSnapshot, deployed: false });
    } else if (e.name === 'restoreEnvironment') {
      const restored = JSON.stringify(e.args[0]);
      for (const r of recorded) {
        if (r.deployed && JSON.stringify(r.snapshot) === restored) {
          r.deployed = false;
          restoredByPromotion.add(r.snapshot.environment);
        }
      }
    } else if (e.name === 'evaluatePolicyGate') {
      const gate = e.result as { settings?: PromotionSettings; policyHash?: string } | undefined;
      settings = gate?.settings;
      policyHash = gate?.policyHash;
    }
  }
  const restores = finished
    ? []
    : recorded
        .filter((r) => r.deployed)
        .map((r) => ({
          label: `restore ${r.snapshot.environment}`,
          environment: r.snapshot.environment,
          snapshot: r.snapshot,
        }));
  return {
    restores,
    restoredByPromotion: [...restoredByPromotion],
    finished,
    ...(settings ? { settings } : {}),
    ...(policyHash ? { policyHash } : {}),
  };
}

type Event = temporal.api.history.v1.IHistoryEvent;

const CLOSED: Array<[keyof Event, string]> = [
  ['workflowExecutionTerminatedEventAttributes', 'TERMINATED'],
  ['workflowExecutionTimedOutEventAttributes', 'TIMED_OUT'],
  ['workflowExecutionFailedEventAttributes', 'FAILED'],
  ['workflowExecutionCompletedEventAttributes', 'COMPLETED'],
  ['workflowExecutionCanceledEventAttributes', 'CANCELLED'],
  ['workflowExecutionContinuedAsNewEventAttributes', 'CONTINUED_AS_NEW'],
];
/** Only these activities' payloads are decoded; the rest of a long history is skipped. */
const READ = new Set([
  'snapshotEnvironment',
  'restoreEnvironment',
  'evaluatePolicyGate',
  'releaseSlot',
  ...Object.keys(DEPLOY_TARGET),
]);

/** Reads the promotion's newest run and every run it continued from. */
export async function readRecordedRollback(client: Client, workflowId: string): Promise<RecordedRollback> {
  const converter = client.options.loadedDataConverter;
  const decode = (p?: temporal.api.common.v1.IPayloads | null) => decodeArrayFromPayloads(converter, p?.payloads);
  const runs = await fetchRunHistories(client, workflowId);
  const activities: ActivityEvent[] = [];
  for (const events of runs) {
    const scheduled = new Map<string, { name: string; args: unknown[] }>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s && READ.has(s.activityType?.name ?? '')) {
        const a = { name: s.activityType!.name!, args: await decode(s.input) };
        scheduled.set(String(e.eventId), a);
        activities.push({ kind: 'scheduled', ...a });
      }
      const c = e.activityTaskCompletedEventAttributes;
      const of = c && scheduled.get(String(c.scheduledEventId));
      if (c && of) activities.push({ kind: 'completed', ...of, result: (await decode(c.result))[0] });
    }
  }
  const first = runs[0][0]?.workflowExecutionStartedEventAttributes;
  const input = (await decode(first?.input))[0] as PromotionInput;
  const last = runs[runs.length - 1].at(-1);
  const closed = CLOSED.find(([key]) => last?.[key]);
  return {
    change: input.change,
    status: closed?.[1] ?? 'RUNNING',
    ...(closed && last?.eventTime ? { endedAt: timestamp(last.eventTime) } : {}),
    ...restoresFromHistory(activities),
  };
}

function timestamp(t: NonNullable<Event['eventTime']>): string {
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}
