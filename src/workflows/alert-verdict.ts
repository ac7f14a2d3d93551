// Whether a firing alert of the service's alerting system is about the change under watch. The
// alerting system has already judged (its rule, its `for:`): Airlock does not re-judge its figures,
// it decides only whether the verdict applies. Pure and deterministic: time comes in as arguments.
import type { FiringAlert } from './messages';

export type AlertVerdict = { act: true; about: string; firingBeforeReady: boolean } | { act: false; reason: string };

/**
 * `version`: the version under watch; `readyAt`: when it became ready in the alert's environment
 * (undefined: not running there). The alert acts when the change runs in its environment and the
 * alert names that version or no version (service-wide). It is judged when it arrives, not by its
 * start: an alert still firing after readiness is about the environment as it is now, even if it
 * started before (Alertmanager repeats firing alerts with their first startsAt).
 */
export function judgeAlert(alert: FiringAlert, version: string, readyAt: number | undefined): AlertVerdict {
  if (readyAt === undefined) return { act: false, reason: `the change is not running in ${alert.environment} yet` };
  if (alert.version !== undefined && alert.version !== version)
    return { act: false, reason: `about version ${alert.version}, not ${version}` };
  return {
    act: true,
    about: alert.version !== undefined ? `version ${version}` : 'service-wide',
    firingBeforeReady: Date.parse(alert.startsAt) < readyAt,
  };
}
