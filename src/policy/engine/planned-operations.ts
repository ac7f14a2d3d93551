// Planned operations (AI-DEPLOY-001: the agent scaled up during a load test nobody told it about):
// windows from a cron start, a duration and a time zone. Pure: `now` is always passed in.
import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import type { PlannedOperation } from '../config/checks-schema';

export interface ActiveWindow {
  operation: PlannedOperation;
  start: Date;
  end: Date;
}

/** The window of the operation that contains `at`, if any. */
export function activeWindow(operation: PlannedOperation, at: Date): ActiveWindow | undefined {
  // The latest start at or before `at` ends latest, so it alone decides (even if windows overlap).
  const cron = CronExpressionParser.parse(operation.schedule, {
    currentDate: new Date(at.getTime() + 1),
    tz: operation.timezone,
  });
  if (!cron.hasPrev()) return undefined;
  const start = cron.prev().toDate();
  const end = new Date(start.getTime() + operation.durationMinutes * 60_000);
  return at >= start && at < end ? { operation, start, end } : undefined;
}

export function activeWindows(
  operations: readonly PlannedOperation[],
  service: string,
  at: Date,
  action?: PlannedOperation['action'],
): ActiveWindow[] {
  return operations
    .filter((o) => o.services.includes(service) && (!action || o.action === action))
    .map((o) => activeWindow(o, at))
    .filter((w): w is ActiveWindow => w !== undefined);
}

// Back-to-back windows chain; a schedule that never lets go is reported, not waited on forever.
const MAX_CHAINED_WINDOWS = 100;

/** How long a deploy of `service` to `environment` must wait for freeze windows to end. */
export function deployWait(
  operations: readonly PlannedOperation[],
  service: string,
  environment: 'staging' | 'production',
  now: Date,
): { waitMs: number; reason?: string } {
  const freezes = operations.filter((o) => o.action === 'freeze' && o.environments.includes(environment));
  let at = now;
  const names: string[] = [];
  for (let i = 0; i < MAX_CHAINED_WINDOWS; i++) {
    const windows = activeWindows(freezes, service, at);
    if (!windows.length) break;
    const latest = windows.reduce((a, b) => (a.end > b.end ? a : b));
    names.push(...windows.map((w) => w.operation.name).filter((n) => !names.includes(n)));
    at = latest.end;
  }
  if (at.getTime() === now.getTime()) return { waitMs: 0 };
  const tz = freezes.find((o) => names.includes(o.name))?.timezone ?? 'UTC';
  const until = DateTime.fromJSDate(at, { zone: tz }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
  return {
    waitMs: at.getTime() - now.getTime(),
    reason: `${service} is frozen in ${environment} by planned operation ${names.map((n) => `"${n}"`).join(', ')} until ${until}`,
  };
}

export function formatWindow(w: ActiveWindow): string {
  const fmt = (d: Date) => DateTime.fromJSDate(d, { zone: w.operation.timezone }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
  return `"${w.operation.name}" (${fmt(w.start)} – ${fmt(w.end)})`;
}
