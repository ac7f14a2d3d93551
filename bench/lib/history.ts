// Reading figures off workflow histories: the server's own event times, so the worker's and the
// client's event loops do not blur them.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

export function eventMs(e: HistoryEvent): number {
  const t = e.eventTime;
  if (!t) throw new Error(`history event ${e.eventId}: no eventTime`);
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
}

export async function fetchHistory(client: Client, workflowId: string): Promise<History> {
  return client.workflow.getHandle(workflowId).fetchHistory();
}

export function historyBytes(h: History): number {
  return temporal.api.history.v1.History.encode(h).finish().length;
}

/** Time of the first signal named `name`, or undefined. */
export function signalTime(h: History, name: string, nth = 0): number | undefined {
  const signals = (h.events ?? []).filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED &&
      e.workflowExecutionSignaledEventAttributes?.signalName === name,
  );
  return signals[nth] ? eventMs(signals[nth]) : undefined;
}

/** ActivityTaskStarted time of the first activity of type `activityType`, or undefined while not in history yet. */
export function activityStartedTime(h: History, activityType: string): number | undefined {
  const events = h.events ?? [];
  const scheduled = events.find(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
  );
  if (!scheduled) return undefined;
  const id = Number(scheduled.eventId);
  const started = events.find(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
      Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === id,
  );
  return started ? eventMs(started) : undefined;
}

/** Fetches the history until `read` finds its figure (an activity's Started event is written when it completes). */
export async function waitForHistoryFigure<T>(
  client: Client,
  workflowId: string,
  read: (h: History) => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read(await fetchHistory(client, workflowId));
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${workflowId}: history figure not found within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every WorkflowTaskScheduled → WorkflowTaskStarted wait in a history, ms. */
export function workflowTaskLatencies(h: History): number[] {
  const scheduledAt = new Map<number, number>();
  const out: number[] = [];
  for (const e of h.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) scheduledAt.set(Number(e.eventId), eventMs(e));
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      const s = scheduledAt.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId));
      if (s !== undefined) out.push(eventMs(e) - s);
    }
  }
  return out;
}

/** Event counts by type name, most frequent first. */
export function eventCounts(h: History): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of h.events ?? []) {
    const name = (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** How long the worker held each workflow task (Started → Completed), ms; the first is the new workflow's module load and first run. */
export function workflowTaskRunTimes(h: History): number[] {
  const startedAt = new Map<number, number>();
  const out: number[] = [];
  for (const e of h.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) startedAt.set(Number(e.eventId), eventMs(e));
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      const s = startedAt.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
      if (s !== undefined) out.push(eventMs(e) - s);
    }
  }
  return out;
}

/** Workflow tasks completed and activities scheduled before the first activity of `activityType` was scheduled. */
export function stepsBefore(h: History, activityType: string): { workflowTasks: number; activities: string[] } {
  let workflowTasks = 0;
  const activities: string[] = [];
  for (const e of h.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) workflowTasks++;
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      if (name === activityType) break;
      activities.push(name);
    }
  }
  return { workflowTasks, activities };
}
