// Service leases in the blast-radius slot (blastRadius.scope `production`): a lease covers one
// promotion from its staging deploy to its end, one per service, and counts against no limit; its
// holder asks again, without `lease`, for one of the maxServicesInFlight slots before its canary.
// Pure functions over the slot workflow's state, so the rules read (and test) apart from it.
import type { SlotHolder, SlotState } from './messages';

type Queued = SlotState['queue'][number];

/** Whether a service's lease, or slot, is held by anyone but `except`. */
export const serviceHeld = (holders: SlotHolder[], service: string, except?: string) =>
  holders.some((h) => h.service === service && h.workflowId !== except);

/**
 * The queued lease requests to grant now, in order: each one whose service nobody holds and that
 * no earlier entry of its service waits ahead of (first come first served within a service).
 */
export function grantableLeases(queue: Queued[], holders: SlotHolder[]): Queued[] {
  const granted: Queued[] = [];
  const services = new Set(holders.map((h) => h.service));
  for (const [i, q] of queue.entries()) {
    // A train's carrier still running its gate (pending) keeps its place but is not granted.
    if (!q.lease || q.pending || services.has(q.service)) continue;
    if (queue.slice(0, i).some((e) => e.service === q.service)) continue;
    granted.push(q);
    services.add(q.service);
  }
  return granted;
}

/** The first entry asking for a slot (not a lease, not a train's carrier still in its gate): strict FIFO among those. */
export const firstSlotRequest = (queue: Queued[]): Queued | undefined => queue.find((q) => !q.lease && !q.pending);

/** Holders that occupy one of the maxServicesInFlight slots (a lease does not). */
export const inFlight = (holders: SlotHolder[]) => holders.filter((h) => !h.lease).length;
