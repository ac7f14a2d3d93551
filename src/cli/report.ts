// `airlock report [--since 30d]`: the scoreboard of the incident report, computed from Temporal
// visibility (which promotions) and histories (input, result, when production was reached).
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { Change, PromotionResult } from '../workflows/messages';
import { CliError, ExitCode } from './errors';

export interface Scoreboard {
  since: string;
  days: number;
  started: number;
  inFlight: number;
  promoted: number;
  rolledBack: { total: number; byStage: Record<string, number> };
  blocked: { total: number; byRule: Record<string, number> };
  /** Promotions that went on past a block because every blocking finding was waived, signed. */
  waived: { total: number; byRule: Record<string, number>; byApprover: Record<string, number> };
  rejected: number;
  aborted: number;
  timedOut: number;
  failed: number;
  /** Ended with a restore that did not finish: something was left deployed for a human. */
  rollbackFailed: number;
  /** Joined by a later merge of the service and carried by its promotion (release trains). */
  superseded: number;
  /** Rejections and aborts: a human had to step in. */
  humanInterventions: number;
  medianMergeToProductionHours?: number;
  /** Rollbacks after production (canary or full) had the change: users could see it. */
  userFacingRollbacks: number;
  userFacingRollbackEveryDays?: number;
}

export function parseSince(text: string): number {
  const m = /^(\d+)([dh])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new CliError(`--since: "${text}" must look like 30d or 12h`, ExitCode.Usage);
  return Number(m[1]) * (m[2] === 'd' ? 86_400_000 : 3_600_000);
}

/** Through the client's data converter: its codec decrypts what an encrypting worker wrote. */
const decoder =
  (client: Client) =>
  <T>(p?: temporal.api.common.v1.IPayloads | null): Promise<T | undefined> =>
    p?.payloads?.[0]
      ? decodeFromPayloadsAtIndex<T>(client.options.loadedDataConverter, 0, p.payloads)
      : Promise.resolve(undefined);

/** Where a rollback's evidence says the change was when it was stopped. */
function rollbackStage(r: PromotionResult): string {
  const i = r.interruption;
  if (!i) return 'unknown';
  const env =
    i.kind === 'breach'
      ? i.sample.environment
      : i.kind === 'alert'
        ? i.alert.environment
        : i.kind === 'insufficient_evidence'
          ? i.environment
          : i.kind === 'silence' || i.kind === 'deploy_failed'
            ? i.environment
            : undefined;
  if (env === 'staging') return 'bake';
  if (env === 'production') return r.approvals.length >= 2 ? 'production' : 'canary';
  return i.kind;
}

const bump = (r: Record<string, number>, key: string) => (r[key] = (r[key] ?? 0) + 1);

/** A promotion that was waived: which rules were lifted, and who signed (each waiver once). */
export function countWaivers(waived: Scoreboard['waived'], r: PromotionResult): void {
  if (!r.waivers?.length) return;
  waived.total++;
  const ids = new Set(r.waivers.flatMap((w) => w.findings));
  for (const f of r.findings) if (f.id && ids.has(f.id)) bump(waived.byRule, f.rule);
  for (const w of r.waivers) bump(waived.byApprover, w.by);
}

/** Nothing counted yet over `days` since `since`. */
export function emptyScoreboard(since: string, days: number): Scoreboard {
  return {
    since,
    days,
    started: 0,
    inFlight: 0,
    promoted: 0,
    rolledBack: { total: 0, byStage: {} },
    blocked: { total: 0, byRule: {} },
    waived: { total: 0, byRule: {}, byApprover: {} },
    rejected: 0,
    aborted: 0,
    timedOut: 0,
    failed: 0,
    rollbackFailed: 0,
    superseded: 0,
    humanInterventions: 0,
    userFacingRollbacks: 0,
  };
}

export async function computeReport(client: Client, sinceMs: number, now = Date.now()): Promise<Scoreboard> {
  const since = new Date(now - sinceMs).toISOString();
  const board = emptyScoreboard(since, sinceMs / 86_400_000);
  const mergeToProd: number[] = [];
  const decode = decoder(client);
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'promotion' AND StartTime > '${since}'` })) {
    board.started++;
    if (wf.status.name === 'RUNNING') {
      board.inFlight++;
      continue;
    }
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    let change: Change | undefined;
    let result: PromotionResult | undefined;
    let productionAt: number | undefined;
    for (const e of history.events ?? []) {
      const started = e.workflowExecutionStartedEventAttributes;
      if (started) change = (await decode<{ change: Change }>(started.input))?.change;
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'promoteCanary' && e.eventTime?.seconds != null)
        productionAt = Number(e.eventTime.seconds) * 1000;
      const done = e.workflowExecutionCompletedEventAttributes;
      if (done) result = await decode<PromotionResult>(done.result);
    }
    if (!result) {
      board.failed++; // terminated, timed out or failed at the Temporal level
      continue;
    }
    countWaivers(board.waived, result);
    switch (result.outcome) {
      case 'promoted': {
        board.promoted++;
        const mergedAt = change?.mergedAt ? Date.parse(change.mergedAt) : wf.startTime.getTime();
        if (productionAt) mergeToProd.push(productionAt - mergedAt);
        break;
      }
      case 'rolled_back': {
        board.rolledBack.total++;
        const stage = rollbackStage(result);
        board.rolledBack.byStage[stage] = (board.rolledBack.byStage[stage] ?? 0) + 1;
        if (stage === 'canary' || stage === 'production') board.userFacingRollbacks++;
        break;
      }
      case 'blocked':
        board.blocked.total++;
        for (const f of result.findings.filter((x) => x.level === 'block'))
          board.blocked.byRule[f.rule] = (board.blocked.byRule[f.rule] ?? 0) + 1;
        break;
      case 'rejected':
        board.rejected++;
        break;
      case 'aborted':
        board.aborted++;
        break;
      case 'timed_out':
        board.timedOut++;
        break;
      case 'failed':
        board.failed++;
        break;
      case 'rollback_failed':
        board.rollbackFailed++;
        break;
      case 'superseded':
        board.superseded++;
        break;
    }
  }
  board.humanInterventions = board.rejected + board.aborted;
  if (mergeToProd.length) {
    const sorted = mergeToProd.sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    board.medianMergeToProductionHours = Math.round((median / 3_600_000) * 10) / 10;
  }
  if (board.userFacingRollbacks)
    board.userFacingRollbackEveryDays = Math.round((board.days / board.userFacingRollbacks) * 10) / 10;
  return board;
}

export function renderReport(b: Scoreboard): string {
  const pairs = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  const rate = b.started ? ` (${((b.rolledBack.total / b.started) * 100).toFixed(1)}% of started)` : '';
  return [
    `Airlock scoreboard since ${b.since} (${b.days} days)`,
    `  promotions started         ${b.started}   (in flight ${b.inFlight})`,
    `  promoted                   ${b.promoted}`,
    `  rolled back                ${b.rolledBack.total}${rate}   by stage: ${pairs(b.rolledBack.byStage)}`,
    `  blocked by policy          ${b.blocked.total}   by rule: ${pairs(b.blocked.byRule)}`,
    `  waived (signed)            ${b.waived.total}   by rule: ${pairs(b.waived.byRule)}; signed by: ${pairs(b.waived.byApprover)}`,
    `  rejected / aborted         ${b.rejected} / ${b.aborted}   (human interventions ${b.humanInterventions})`,
    `  approval timed out         ${b.timedOut}`,
    `  failed                     ${b.failed}`,
    `  superseded (in a train)    ${b.superseded}`,
    `  ROLLBACK FAILED            ${b.rollbackFailed}${b.rollbackFailed ? '   (something was left deployed: airlock status shows what)' : ''}`,
    `  median merge → production  ${b.medianMergeToProductionHours !== undefined ? `${b.medianMergeToProductionHours} h` : '-'}`,
    b.userFacingRollbackEveryDays !== undefined
      ? `  at this rate: a user-facing rollback every ${b.userFacingRollbackEveryDays} days (${b.userFacingRollbacks} reached the canary or production)`
      : `  no user-facing rollback in this period: every stopped change was stopped before production`,
  ].join('\n');
}
