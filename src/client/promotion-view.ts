// One promotion as a person should see it, with or without a worker: a running promotion answers
// the `state` query; an ended one (or a running one whose worker does not answer within a few
// seconds) is read from what the server keeps: the last state the workflow reported (the input of
// its newest `reportStage` activity), its result, and how the execution closed.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import {
  compensationWorkflowId,
  stateQuery,
  type PromotionInput,
  type PromotionResult,
  type PromotionState,
} from '../workflows/messages';
import { initialState } from '../workflows/promotion/initial-state';
import { isUnreachable, PromotionLookupError } from './lookup-error';

export interface PromotionView {
  state: PromotionState;
  /** `query`: the workflow answered just now; `history`: read from the server's record of it. */
  source: 'query' | 'history';
  /** The server's word on the execution: RUNNING, COMPLETED, TERMINATED, FAILED, CANCELLED, TIMED_OUT… */
  executionStatus: string;
  /** Said loudly by every view when the state is not the live answer or the execution did not end normally. */
  notice?: string;
}

export interface ViewOptions {
  /** How long a running promotion's worker gets to answer the state query. */
  queryTimeoutMs?: number;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 4_000;

type Event = temporal.api.history.v1.IHistoryEvent;

export async function readPromotion(client: Client, workflowId: string, o: ViewOptions = {}): Promise<PromotionView> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) throw new PromotionLookupError('not_found', `no promotion ${workflowId}`);
    if (isUnreachable(err))
      throw new PromotionLookupError('unreachable', `Temporal unreachable: ${(err as Error).message}`);
    throw err;
  });
  const executionStatus = description.status.name;
  const timeoutMs = o.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (executionStatus === 'RUNNING') {
    try {
      const state = await client.withDeadline(Date.now() + timeoutMs, () => handle.query(stateQuery));
      return { state, source: 'query', executionStatus };
    } catch (err) {
      if (isUnreachable(err))
        throw new PromotionLookupError('unreachable', `Temporal unreachable: ${(err as Error).message}`);
      const fromHistory = await stateFromHistory(client, workflowId);
      const notice =
        `no worker answered within ${timeoutMs / 1000} s (task queue "${description.taskQueue}"): is the Airlock worker running? ` +
        `Showing the state last reported${fromHistory.reportedAt ? ` at ${fromHistory.reportedAt}` : ''}.`;
      return {
        state: { ...fromHistory.state, now: new Date().toISOString() },
        source: 'history',
        executionStatus,
        notice,
      };
    }
  }
  const { state, closing } = await stateFromHistory(client, workflowId);
  return { state, source: 'history', executionStatus, ...(closing ? { notice: closing } : {}) };
}

interface HistoryState {
  state: PromotionState;
  reportedAt?: string;
  /** Set when the execution closed other than by returning a result. */
  closing?: string;
}

async function stateFromHistory(client: Client, workflowId: string): Promise<HistoryState> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const converter = client.options.loadedDataConverter;
  const decode = <T>(p?: temporal.api.common.v1.IPayloads | null) =>
    decodeFromPayloadsAtIndex<T>(converter, 0, p?.payloads);

  const lastReport = [...events]
    .reverse()
    .find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'reportStage');
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  let state: PromotionState;
  let reportedAt: string | undefined;
  if (lastReport) {
    state = await decode<PromotionState>(lastReport.activityTaskScheduledEventAttributes?.input);
    reportedAt = eventTime(lastReport);
  } else {
    // A run that continued as new starts from the state its previous run carried over.
    const input = await decode<Pick<PromotionInput, 'change' | 'continued'>>(started?.input);
    state =
      input.continued?.state ??
      initialState(workflowId, input.change, eventTime(events[0]) ?? new Date(0).toISOString());
  }

  const last = events[events.length - 1];
  const closedAt = last ? eventTime(last) : undefined;
  const completed = last?.workflowExecutionCompletedEventAttributes;
  if (completed) {
    const result = await decode<PromotionResult>(completed.result);
    return {
      reportedAt,
      state: {
        ...state,
        stage: 'ended',
        outcome: result.outcome,
        findings: result.findings,
        approvals: result.approvals,
        ...(result.interruption ? { interruption: result.interruption } : {}),
        endedAt: state.endedAt ?? closedAt,
        now: closedAt ?? state.now,
      },
    };
  }
  const closing = describeAbnormalClose(last, state);
  return {
    reportedAt,
    state: { ...state, now: closing ? (closedAt ?? state.now) : new Date().toISOString() },
    ...(closing ? { closing } : {}),
  };
}

function describeAbnormalClose(e: Event | undefined, s: PromotionState): string | undefined {
  if (!e) return undefined;
  const left = s.deployed.length
    ? `still deployed as last reported: ${s.deployed.join(', ')}`
    : 'nothing was deployed as last reported';
  const at = eventTime(e);
  // The blast-radius slot's reaper compensates these endings (src/workflows/compensation.ts).
  const compensated = ` The slot's reaper restores it within 5 minutes: airlock status ${compensationWorkflowId(s.workflowId)}.`;
  const t = e.workflowExecutionTerminatedEventAttributes;
  if (t)
    return `TERMINATED at ${at}${t.identity ? ` by ${t.identity}` : ''}${t.reason ? `: ${t.reason}` : ''}. The workflow ran no rollback; ${left}.${compensated}`;
  if (e.workflowExecutionFailedEventAttributes) {
    const f = e.workflowExecutionFailedEventAttributes.failure;
    return `FAILED at ${at}: ${f?.message ?? 'no message'}. ${left}.${compensated}`;
  }
  if (e.workflowExecutionCanceledEventAttributes) return `CANCELLED at ${at}. ${left}.`;
  if (e.workflowExecutionTimedOutEventAttributes)
    return `TIMED OUT at ${at}. The workflow ran no rollback; ${left}.${compensated}`;
  if (e.workflowExecutionContinuedAsNewEventAttributes)
    return `continued as new at ${at}; showing the state before it.`;
  return undefined;
}

function eventTime(e: Event | undefined): string | undefined {
  const t = e?.eventTime;
  if (t?.seconds == null) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}
