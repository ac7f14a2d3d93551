// `airlock list`: promotions in flight, queued, and recently ended, from Temporal visibility.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { outcomeKey, serviceKey, stageKey, commitKey } from '../workflows/search-attributes';
import { DEFAULT_SLOT_WORKFLOW_ID, slotStateQuery, stateQuery, type PromotionState } from '../workflows/messages';
import { holderFreesAt, queueDurations, queueEtas } from '../client/queue-eta';

export interface PromotionRow {
  workflowId: string;
  service?: string;
  commit?: string;
  stage?: string;
  outcome?: string;
  status: string;
  startTime: string;
  closeTime?: string;
  /** Queued: place in the slot queue (1 = next) and the earliest production time (queue-eta.ts). */
  position?: number;
  earliestProductionAt?: string;
  /** The merged commits it carries when it is a release train, oldest first. */
  commits?: string[];
}

export function toRow(wf: WorkflowExecutionInfo): PromotionRow {
  const sa = wf.typedSearchAttributes;
  const row: PromotionRow = {
    workflowId: wf.workflowId,
    status: wf.status.name,
    startTime: wf.startTime.toISOString(),
  };
  const service = sa.get(serviceKey);
  const commit = sa.get(commitKey);
  const stage = sa.get(stageKey);
  const outcome = sa.get(outcomeKey);
  if (service) row.service = service;
  if (commit) row.commit = commit;
  if (stage) row.stage = stage;
  if (outcome) row.outcome = outcome;
  if (wf.closeTime) row.closeTime = wf.closeTime.toISOString();
  return row;
}

export interface PromotionList {
  inFlight: PromotionRow[];
  queued: PromotionRow[];
  recent: PromotionRow[];
}

export async function listPromotions(
  client: Client,
  o: { recentDays?: number; limit?: number; slotWorkflowId?: string } = {},
): Promise<PromotionList> {
  const since = new Date(Date.now() - (o.recentDays ?? 7) * 86_400_000).toISOString();
  const running: PromotionRow[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'promotion' AND ExecutionStatus = 'Running'` }))
    running.push(toRow(wf));
  const recent: PromotionRow[] = [];
  const query = `WorkflowType = 'promotion' AND ExecutionStatus != 'Running' AND CloseTime > '${since}'`;
  for await (const wf of client.workflow.list({ query })) {
    recent.push(toRow(wf));
    if (recent.length >= (o.limit ?? 20)) break;
  }
  const queued = running.filter((r) => r.stage === 'queued');
  const inFlight = running.filter((r) => r.stage !== 'queued');
  await placeInQueue(client, o.slotWorkflowId ?? DEFAULT_SLOT_WORKFLOW_ID, queued);
  return { inFlight, queued, recent };
}

/**
 * Orders the queued rows as the slot workflow will grant them and gives each an earliest production
 * time from the holders' progress and the policy's durations. Without a slot workflow (none queued
 * yet) the rows stay in visibility's order.
 */
async function placeInQueue(client: Client, slotWorkflowId: string, queued: PromotionRow[]) {
  const slots = await client.workflow
    .getHandle(slotWorkflowId)
    .query(slotStateQuery)
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
  if (!slots) return;
  const states = new Map<string, PromotionState>();
  const read = async (id: string) => {
    const s = await client.workflow
      .getHandle(id)
      .query(stateQuery)
      .catch(() => undefined);
    if (s) states.set(id, s);
  };
  await Promise.all([...slots.holders.map((h) => read(h.workflowId)), ...queued.map((r) => read(r.workflowId))]);
  const order = slots.queue.map((q) => q.workflowId);
  queued.sort((a, b) => rank(order, a.workflowId) - rank(order, b.workflowId));
  const settings = [...states.values()].find((s) => s.settings)?.settings;
  const now = Date.now();
  const durations = settings ? queueDurations(settings) : undefined;
  const etas = durations
    ? queueEtas(
        order,
        slots.holders.map((h) => {
          const s = states.get(h.workflowId);
          return s ? holderFreesAt(s, durations, now) : now + durations.watchMs;
        }),
        durations,
        now,
      )
    : new Map<string, number>();
  for (const r of queued) {
    const i = order.indexOf(r.workflowId);
    if (i >= 0) r.position = i + 1;
    const eta = etas.get(r.workflowId);
    if (eta !== undefined) r.earliestProductionAt = new Date(eta).toISOString();
    const train = states.get(r.workflowId)?.train;
    if (train) r.commits = train.map((t) => t.commit);
  }
}

const rank = (order: string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
};

export function renderList(l: PromotionList): string {
  const line = (r: PromotionRow) =>
    `  ${(r.service ?? '?').padEnd(24)} ${(r.commit ?? '').slice(0, 12).padEnd(12)} ${(r.outcome ?? r.stage ?? r.status).padEnd(18)} ${r.closeTime ?? r.startTime}  ${r.workflowId}`;
  const queuedLine = (r: PromotionRow) =>
    [
      `${r.position ? `#${r.position}` : '#?'} ${line(r).trimStart()}`,
      ...(r.earliestProductionAt ? [`      production not before ${r.earliestProductionAt}`] : []),
      ...(r.commits ? [`      train of ${r.commits.length}: ${r.commits.map((c) => c.slice(0, 12)).join(' ')}`] : []),
    ].join('\n  ');
  const section = (title: string, rows: PromotionRow[], show = line) => [
    `${title} (${rows.length})`,
    ...(rows.length ? rows.map(show) : ['  none']),
  ];
  return [
    ...section('in flight', l.inFlight),
    ...section('queued', l.queued, (r) => `  ${queuedLine(r)}`),
    ...section('recent', l.recent),
  ].join('\n');
}
