// `airlock list`: promotions in flight, queued, and recently ended, from Temporal visibility.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { outcomeKey, serviceKey, stageKey, commitKey } from '../workflows/search-attributes';

export interface PromotionRow {
  workflowId: string;
  service?: string;
  commit?: string;
  stage?: string;
  outcome?: string;
  status: string;
  startTime: string;
  closeTime?: string;
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
  o: { recentDays?: number; limit?: number } = {},
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
  return {
    inFlight: running.filter((r) => r.stage !== 'queued'),
    queued: running.filter((r) => r.stage === 'queued'),
    recent,
  };
}

export function renderList(l: PromotionList): string {
  const line = (r: PromotionRow) =>
    `  ${(r.service ?? '?').padEnd(24)} ${(r.commit ?? '').slice(0, 12).padEnd(12)} ${(r.outcome ?? r.stage ?? r.status).padEnd(18)} ${r.closeTime ?? r.startTime}  ${r.workflowId}`;
  const section = (title: string, rows: PromotionRow[]) => [
    `${title} (${rows.length})`,
    ...(rows.length ? rows.map(line) : ['  none']),
  ];
  return [...section('in flight', l.inFlight), ...section('queued', l.queued), ...section('recent', l.recent)].join(
    '\n',
  );
}
