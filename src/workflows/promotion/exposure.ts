// Blast-radius scope `production` (docs/blast-radius.md): the promotion queued for its service's
// lease, deployed staging and baked; before the canary it asks for one of the maxServicesInFlight
// slots, so bakes of different services overlap but production exposure stays bounded. Staging
// stays watched while it waits, and the wait is a safe point (continue-as-new resumes it).
import * as wf from '@temporalio/workflow';
import { MINUTE_MS } from '../../common/durations';
import { controlActs } from './activity-options';
import { iso, type GatedContext } from './context';
import { step, stopped } from './stages';
import { watch } from './watch';

/** Promotions started from this patch on take the policy's blastRadius.scope; a scope, once taken, is kept. */
const SCOPE_PATCH = 'blast-radius-scope';
/** How long a promotion waits before asking again: a slot workflow created anew lost its queue. */
const REQUEST_AGAIN_MS = 10 * MINUTE_MS;

/**
 * Decided once, in the queue stage: the scope is recorded in the state, which every continued run
 * carries. Missing in the policy (settings recorded before the key existed) is `promotion`.
 */
export function takeScope(ctx: GatedContext): { lease?: true } {
  if (ctx.settings.blastRadius.scope !== 'production' || !wf.patched(SCOPE_PATCH)) return {};
  ctx.state.blastRadiusScope = 'production';
  return { lease: true };
}

export async function exposure(ctx: GatedContext): Promise<void> {
  const { state } = ctx;
  if (state.blastRadiusScope !== 'production' || state.productionSlotAt) return;
  if (ctx.resumedAt('queued_for_production') === undefined) {
    ctx.slot.granted = false; // the lease's grant: the slot's is still to come
    ctx.setStage('queued_for_production');
  }
  const { maxServicesInFlight, maxStartsPerHour } = ctx.settings.blastRadius;
  // A retried request keeps its place, so a resumed run asks again without harm.
  const request = () =>
    step(ctx, { activity: 'requestSlot' }, () =>
      controlActs.requestSlot.executeWithOptions({ summary: 'queue for the production slot' }, [
        ctx.slotWorkflowId,
        { workflowId: ctx.workflowId, service: ctx.change.service, maxServicesInFlight, maxStartsPerHour },
      ]),
    );
  await request();
  for (;;) {
    const r = await watch(ctx, 'staging', Date.now() + REQUEST_AGAIN_MS, 'queued for the production slot', {
      done: () => ctx.slot.granted,
      safePoint: true,
    });
    if (r === 'interrupted' || r === 'restart') stopped(r);
    if (r === 'elapsed') {
      await request();
      continue;
    }
    // A grant is a signal anyone can send: it counts once the slot workflow lists us as a slot holder.
    const grantsSeen = ctx.slot.grants;
    const holder = await step(ctx, { activity: 'isSlotHolder' }, () =>
      controlActs.isSlotHolder.executeWithOptions({ summary: 'confirm the production slot with the slot workflow' }, [
        ctx.slotWorkflowId,
        ctx.workflowId,
        { slot: true },
      ]),
    );
    if (holder) {
      state.productionSlotAt = iso(Date.now());
      state.queuePosition = undefined;
      return;
    }
    if (ctx.slot.grants !== grantsSeen) continue;
    ctx.slot.granted = false;
    ctx.refuse({
      who: 'slotGranted',
      action: 'slotGranted',
      reason: 'production slot not confirmed: the slot workflow does not list this promotion as a slot holder',
    });
  }
}
exposure.resumesIn = 'queued_for_production' as const;
