// The blast-radius slot: a long-lived workflow that grants "in flight" to at most
// maxServicesInFlight promotions (never two of one service), first come first served, and at most
// maxStartsPerHour grants an hour. With scope `production` a promotion first holds its service's
// lease (slot-leases.ts) and asks for a slot only before its canary. Temporal holds the queue, not a worker's memory.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import { formatDuration, HOUR_MS, MINUTE_MS } from '../common/durations';
import { COMPENSATED_STATUSES } from './compensation';
import { KeptTimers } from './kept-timers';
import { firstSlotRequest, grantableLeases, inFlight, serviceHeld } from './slot-leases';
import {
  joinQueuedUpdate,
  leaveQueuedUpdate,
  queuePositionSignal,
  releaseSlotSignal,
  requestSlotSignal,
  slotGrantedSignal,
  slotStateQuery,
  type SlotHolder,
  type SlotState,
} from './messages';

export interface BlastRadiusInput {
  v: 1;
  /** Set when this run continues an earlier one: its holders are the input's, not visibility's. */
  continued?: boolean;
  holders?: SlotHolder[];
  queue?: SlotState['queue'];
  /** Grant times (ms) within the last hour. */
  starts?: number[];
  limits?: { maxServicesInFlight: number; maxStartsPerHour: number };
  positions?: Record<string, number>;
}

/** How often holders are checked for having ended without releasing (before the patch below: only while someone waits). */
const HOLDER_CHECK_MS = 5 * MINUTE_MS;
/**
 * Holders are checked whenever there are any, and one that ended terminated, timed out or failed
 * (so ran no rollback) keeps its slot until its compensation workflow has ended cleanly.
 */
const COMPENSATE_PATCH = 'compensate-ended-holders';
/** Service leases (blastRadius.scope `production`, slot-leases.ts) are honoured from this patch on. */
const LEASES_PATCH = 'slot-leases';
/** How soon a release whose confirmation failed (the promotion could not be asked) is asked again. */
const RELEASE_RETRY_MS = MINUTE_MS;
/**
 * Waits never cancel their timer (kept-timers.ts), and an idle slot workflow wakes daily: the Java
 * time-skipping test server gives every workflow a 10-year run timeout (sdk-java#191), so a slot
 * workflow with no timer at all could be skipped to it and end TIMED_OUT.
 */
const KEPT_TIMERS_PATCH = 'slot-kept-timers';
const IDLE_WAKE_MS = 24 * HOUR_MS;
/** Continue as new well before the history gets heavy; the state is small. */
const MAX_HISTORY_EVENTS = 4000;

const acts = wf.proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

export async function blastRadius(input: BlastRadiusInput): Promise<void> {
  // From this version: limits from the policy, releases confirmed with the promotion, holders
  // recovered when the slot workflow is created anew, a holder's repeated request granted again.
  const v2 = wf.patched('slot-v2');
  const holders: SlotHolder[] = input.holders ?? [];
  const queue: SlotState['queue'] = input.queue ?? [];
  let starts: number[] = input.starts ?? [];
  let limits = input.limits ?? { maxServicesInFlight: 1, maxStartsPerHour: 5 };
  const positions = new Map(Object.entries(input.positions ?? {}));
  let dirty = true;
  /** Releases heard but not yet confirmed with the promotion; holders asking again for their grant. */
  const releases = new Set<string>();
  const regrants = new Set<string>();
  const refusals: NonNullable<SlotState['refusals']> = [];
  const timers = new KeptTimers();
  const iso = (ms: number) => new Date(ms).toISOString();
  const known = (id: string) => holders.some((h) => h.workflowId === id) || queue.some((q) => q.workflowId === id);
  const remove = (id: string) => {
    const h = holders.findIndex((x) => x.workflowId === id);
    if (h >= 0) holders.splice(h, 1);
    const q = queue.findIndex((x) => x.workflowId === id);
    if (q >= 0) queue.splice(q, 1);
    positions.delete(id);
    dirty = true;
  };

  wf.setHandler(requestSlotSignal, (req) => {
    // Before v2 the latest request's limits won; anyone could send one, so now the policy decides.
    if (!v2) limits = { maxServicesInFlight: req.maxServicesInFlight, maxStartsPerHour: req.maxStartsPerHour };
    const leaseHolder = holders.some((h) => h.workflowId === req.workflowId && h.lease);
    if (v2 && leaseHolder && !req.lease) {
      // A lease's holder has baked and asks for the production slot (slot-leases.ts); a retry keeps its place.
      if (!queue.some((q) => q.workflowId === req.workflowId))
        queue.push({ workflowId: req.workflowId, service: req.service, requestedAt: iso(Date.now()) });
    } else if (v2 && holders.some((h) => h.workflowId === req.workflowId)) {
      regrants.add(req.workflowId); // a holder reset to before its request waits for its grant again
    } else if (known(req.workflowId)) {
      // A retried request keeps its place; a train's carrier that joined before its gate asks now.
      const q = queue.find((x) => x.workflowId === req.workflowId);
      if (!q?.pending) return;
      delete q.pending;
    } else if (queue.some((q) => q.replaced?.includes(req.workflowId))) {
      return; // superseded: its place was taken over by the promotion that carries it
    } else {
      // Before the patch a lease request was a slot request: safe, it held more than it asked for.
      const lease = v2 && req.lease && wf.patched(LEASES_PATCH) ? { lease: true as const } : {};
      queue.push({ workflowId: req.workflowId, service: req.service, requestedAt: iso(Date.now()), ...lease });
    }
    dirty = true;
  });
  // Release trains (docs/release-trains.md): a merge of a service with a queued promotion takes over
  // that promotion's place, which it then supersedes. Kept pending, so never granted, until its own
  // gate has run and it asks for the slot like any other.
  wf.setHandler(
    joinQueuedUpdate,
    ({ workflowId, service }) => {
      const mine = queue.findIndex((q) => q.workflowId === workflowId);
      if (mine >= 0) return { supersedes: queue[mine].replaced?.at(-1), position: mine + 1 }; // a retry
      if (holders.some((h) => h.workflowId === workflowId)) return {};
      // Only a promotion that waits for its first grant: a lease holder asking for the production slot has deployed.
      const i = queue.findIndex(
        (q) => q.service === service && !q.pending && !holders.some((h) => h.workflowId === q.workflowId),
      );
      if (i < 0) return {};
      const joined = queue[i];
      queue[i] = {
        ...joined,
        workflowId,
        replaced: [...(joined.replaced ?? []), joined.workflowId].slice(-50),
        pending: true,
      };
      positions.delete(joined.workflowId);
      dirty = true;
      return { supersedes: joined.workflowId, position: i + 1 };
    },
    {
      validator: (req) => {
        if (typeof req?.workflowId !== 'string' || !req.workflowId) throw new Error('joinQueued: workflowId: required');
        if (typeof req.service !== 'string' || !req.service) throw new Error('joinQueued: service: required');
      },
    },
  );
  wf.setHandler(leaveQueuedUpdate, ({ workflowId, giveBackTo }) => {
    const q = queue.find((x) => x.workflowId === workflowId && x.replaced?.at(-1) === giveBackTo);
    if (!q) return { restored: false };
    q.workflowId = giveBackTo;
    q.replaced = q.replaced!.slice(0, -1);
    if (!q.replaced.length) delete q.replaced;
    delete q.pending;
    positions.delete(workflowId);
    dirty = true;
    return { restored: true };
  });
  wf.setHandler(releaseSlotSignal, ({ workflowId }) => {
    if (!v2) return remove(workflowId);
    releases.add(workflowId); // accepted once the promotion confirms it has ended
    dirty = true;
  });
  wf.setHandler(slotStateQuery, (): SlotState => {
    const next = nextStartAllowedAt();
    return {
      holders: [...holders],
      queue: [...queue],
      startsInLastHour: recentStarts().map(iso),
      ...limits,
      ...(refusals.length ? { refusals: [...refusals] } : {}),
      ...(next !== undefined ? { nextStartAllowedAt: iso(next) } : {}),
    };
  });

  function recentStarts(): number[] {
    const since = Date.now() - HOUR_MS;
    return starts.filter((t) => t > since);
  }
  /** When the hourly limit is what stops the next grant: the moment it allows one again. */
  function nextStartAllowedAt(): number | undefined {
    const recent = recentStarts();
    if (!queue.length || recent.length < limits.maxStartsPerHour) return undefined;
    return recent[recent.length - limits.maxStartsPerHour] + HOUR_MS;
  }

  /** An activity that failed all its attempts must not fail the slot workflow and lose its holders. */
  async function tolerant<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      wf.log.error(`slot: ${what} failed; will try again`, { error: String(err) });
      return undefined;
    }
  }

  const recoverHolders = () =>
    acts.recoverSlotHolders.executeWithOptions({ summary: 'recover holders from visibility' }, [
      wf.workflowInfo().taskQueue,
    ]);

  async function confirmReleases(): Promise<void> {
    for (const workflowId of [...releases]) {
      releases.delete(workflowId);
      if (!known(workflowId)) continue;
      const ended = await tolerant('confirming a release', () =>
        acts.hasPromotionEnded.executeWithOptions({ summary: `confirm ${workflowId} has ended` }, [workflowId]),
      );
      if (ended) remove(workflowId);
      else if (ended === false) {
        refusals.push({ at: iso(Date.now()), workflowId, reason: 'release refused: the promotion is still running' });
        if (refusals.length > 20) refusals.shift();
      } else releases.add(workflowId); // unknown: ask again on the next round
    }
  }

  async function regrant(): Promise<void> {
    for (const workflowId of [...regrants]) {
      regrants.delete(workflowId);
      const h = holders.find((x) => x.workflowId === workflowId);
      if (h) await tellGranted(workflowId, h.grantedAt).catch(() => undefined);
    }
  }

  const tellGranted = (workflowId: string, grantedAt: string) =>
    wf.getExternalWorkflowHandle(workflowId).signal(slotGrantedSignal, { grantedAt });

  async function grantInOrder(): Promise<void> {
    if (v2 && queue.length) {
      limits = (await tolerant('loading the limits from the policy', () => acts.slotLimits())) ?? limits;
    }
    starts = recentStarts();
    // Leases count against no limit: granted whenever their service is free (slot-leases.ts).
    for (const q of grantableLeases(queue, holders)) {
      queue.splice(queue.indexOf(q), 1);
      positions.delete(q.workflowId);
      const grantedAt = iso(Date.now());
      holders.push({ workflowId: q.workflowId, service: q.service, grantedAt, lease: true });
      await tellGranted(q.workflowId, grantedAt).catch(() => remove(q.workflowId)); // ended while queued
    }
    while (queue.length && inFlight(holders) < limits.maxServicesInFlight && starts.length < limits.maxStartsPerHour) {
      const head = firstSlotRequest(queue);
      if (!head) return;
      // Strict FIFO: a second change of a service in flight waits, and so does everyone behind it.
      if (serviceHeld(holders, head.service, head.workflowId)) return;
      queue.splice(queue.indexOf(head), 1);
      positions.delete(head.workflowId);
      const grantedAt = Date.now();
      const leased = holders.find((h) => h.workflowId === head.workflowId);
      if (leased) {
        delete leased.lease; // the lease becomes a slot: one holder, one release
        leased.grantedAt = iso(grantedAt);
      } else holders.push({ workflowId: head.workflowId, service: head.service, grantedAt: iso(grantedAt) });
      starts.push(grantedAt);
      try {
        await tellGranted(head.workflowId, iso(grantedAt));
      } catch (err) {
        starts.pop();
        if (leased) {
          // It ended after its staging deploy: it keeps its lease until the reaper has seen it compensated.
          leased.lease = true;
          wf.log.warn('slot grant undeliverable; lease kept for the holder check', { workflowId: head.workflowId });
          continue;
        }
        // The promotion ended (or was terminated) while queued: it never started, so neither did its start.
        wf.log.warn('slot grant undeliverable; dropping', { workflowId: head.workflowId, error: String(err) });
        remove(head.workflowId);
      }
    }
  }

  async function tellPositions(): Promise<void> {
    for (const [i, q] of queue.slice(0, 100).entries()) {
      if (positions.get(q.workflowId) === i + 1) continue;
      positions.set(q.workflowId, i + 1);
      await wf
        .getExternalWorkflowHandle(q.workflowId)
        .signal(queuePositionSignal, { position: i + 1 })
        .catch(() => undefined);
    }
  }

  /**
   * Frees slots held by promotions that ended without releasing. One that ended outside its own
   * code (terminated, timed out, failed) ran no rollback: its compensation is started (idempotent,
   * so every check asks again) and its slot stays held until the compensation has completed.
   */
  async function reapEndedHolders(): Promise<void> {
    const compensating = wf.patched(COMPENSATE_PATCH);
    const ended: Array<string | { workflowId: string; status: string }> | undefined = await tolerant(
      'checking the holders',
      () =>
        acts.findEndedWorkflows.executeWithOptions({ summary: 'check slot holders are still running' }, [
          holders.map((h) => h.workflowId),
        ]),
    );
    for (const e of ended ?? []) {
      // Results recorded before the patch are bare ids.
      const { workflowId: id, status } = typeof e === 'string' ? { workflowId: e, status: 'UNKNOWN' } : e;
      const holder = holders.find((h) => h.workflowId === id);
      if (compensating && holder && COMPENSATED_STATUSES.includes(status)) {
        const c = await tolerant('starting a compensation', () =>
          acts.startCompensation.executeWithOptions({ summary: `compensate ${id} (${status})` }, [
            { promotionWorkflowId: id, service: holder.service, slotWorkflowId: wf.workflowInfo().workflowId },
          ]),
        );
        if (!c) continue; // held; asked again at the next check
        if (c.status !== 'COMPLETED') {
          if (!holder.compensation)
            wf.log.warn('slot holder ended without its rollback; compensating, slot held', { workflowId: id, status });
          holder.compensation = c.workflowId;
          continue;
        }
        wf.log.warn('slot holder compensated; slot reclaimed', { workflowId: id, compensation: c.workflowId });
      } else {
        wf.log.warn('slot holder ended without releasing; slot reclaimed', { workflowId: id, status });
      }
      remove(id);
    }
  }

  if (v2 && !input.continued && !input.holders) {
    // Created anew (first use, or after it failed or was terminated): nothing is granted before the
    // promotions that still hold a slot are known again.
    let recovered: SlotHolder[] | undefined;
    while (!(recovered = await tolerant('recovering holders', () => recoverHolders()))) await wf.sleep(MINUTE_MS);
    for (const h of recovered) if (!known(h.workflowId)) holders.push(h);
  }

  for (;;) {
    dirty = false;
    if (v2) {
      await confirmReleases();
      await regrant();
    }
    await grantInOrder();
    await tellPositions();
    const info = wf.workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await wf.condition(wf.allHandlersFinished);
      if (!dirty) {
        return wf.continueAsNew<typeof blastRadius>({
          v: 1,
          continued: true,
          holders,
          queue,
          starts: recentStarts(),
          limits,
          positions: Object.fromEntries(positions),
        });
      }
      continue;
    }
    if (dirty) continue;
    // Sleep until something changes, the hourly limit opens, or a holder check is due.
    const next = nextStartAllowedAt();
    const checkHolders = holders.length > 0 && (queue.length > 0 || wf.patched(COMPENSATE_PATCH));
    const waits = [
      next !== undefined ? next - Date.now() : Infinity,
      checkHolders ? HOLDER_CHECK_MS : Infinity,
      // Before this, a release left unconfirmed waited for the next signal, which might never come.
      releases.size && wf.patched('release-retry') ? RELEASE_RETRY_MS : Infinity,
    ];
    // Timers that are never cancelled (kept-timers.ts); with them, an idle slot workflow wakes daily.
    const keptTimers = wf.patched(KEPT_TIMERS_PATCH);
    if (keptTimers) waits.push(IDLE_WAKE_MS);
    const waitMs = Math.max(1, Math.min(...waits));
    if (waitMs === Infinity) {
      await wf.condition(() => dirty);
      continue;
    }
    const summary =
      waitMs === waits[0]
        ? `hourly start limit: next start in ${formatDuration(waitMs)}`
        : waitMs === waits[2]
          ? 'confirm a release again'
          : waitMs === waits[1]
            ? 'next slot-holder check'
            : 'idle: daily wake-up';
    const woke = keptTimers
      ? await timers.wait(() => dirty, waitMs, summary)
      : await wf.condition(() => dirty, waitMs, { summary });
    if (!woke && checkHolders) await reapEndedHolders();
  }
}
