// `service | workflow-id` → the workflow id of that promotion (or of its compensation): the one in flight, or with
// `ended: 'latest'` the newest promotion of that service when none is in flight.
import type { Client } from '@temporalio/client';
import { PromotionLookupError } from './lookup-error';

const SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface TargetOptions {
  /** With no promotion of the service in flight, take its newest one (status shows ended promotions). */
  ended?: 'latest';
}

export async function resolveWorkflowId(client: Client, target: string, o: TargetOptions = {}): Promise<string> {
  // A compensation (compensate-promotion-…) answers `state` and waits for `resolve` like a promotion.
  if (target.startsWith('promotion-') || target.startsWith('compensate-promotion-')) return target;
  // Validated before it goes into a visibility query: no query injection through a service name.
  if (!SERVICE.test(target))
    throw new PromotionLookupError(
      'bad_target',
      `"${target}" is neither a promotion id (promotion-…) nor a service name`,
    );
  const running = await listIds(
    client,
    `WorkflowType = 'promotion' AND AirlockService = '${target}' AND ExecutionStatus = 'Running'`,
  );
  if (running.length > 1)
    throw new PromotionLookupError(
      'ambiguous',
      `service "${target}" has ${running.length} promotions in flight; name one: ${running.join(', ')}`,
    );
  if (running.length === 1) return running[0];
  if (o.ended === 'latest') {
    // Visibility lists newest first (by start time), so the first is the latest promotion.
    const [latest] = await listIds(client, `WorkflowType = 'promotion' AND AirlockService = '${target}'`, 1);
    if (latest) return latest;
  }
  throw new PromotionLookupError('not_found', `no promotion of service "${target}" is in flight`);
}

async function listIds(client: Client, query: string, limit = Infinity): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query })) {
    ids.push(wf.workflowId);
    if (ids.length >= limit) break;
  }
  return ids;
}
