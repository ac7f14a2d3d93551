// A firing alert that stopped a promotion, in one line, the same in every view (status, Web UI).
import type { Interruption } from '../workflows/messages';

type AlertInterruption = Extract<Interruption, { kind: 'alert' }>;

/** "ErrorRateHigh (alertmanager) firing in production, service-wide, since …", and where to look. */
export function describeAlert(i: AlertInterruption): string {
  const a = i.alert;
  const before = i.firingBeforeReady ? ' (before the change was ready there; still firing after)' : '';
  return (
    `${a.name} (${a.source}) firing in ${a.environment}, ${i.about}, since ${a.startsAt}${before}, ` +
    `received ${i.receivedAt}${a.url ? `: ${a.url}` : ''}`
  );
}
