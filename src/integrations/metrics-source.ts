// A metrics source answers one question per poll: the new version's errors and requests over the
// poll's interval, and its baseline's, in one environment. Missing data is its own answer, never
// zero errors.
import type { MonitoringSettings } from '../policy/config/monitoring-schema';
import type { QueryTarget } from '../policy/config/query-template';
import type { Environment, ErrorRateSample } from '../workflows/messages';

export interface MetricsQuery {
  service: string;
  environment: Environment;
  /** Which of the policy's per-window templates applies (canary: beside the stable version). */
  target: QueryTarget;
  /** The version under watch (the canary's, in production). */
  version: string;
  /** When the version became ready in this environment (ms): the staging baseline is measured before it. */
  readyAt: number;
  /** Evaluation time (ms). */
  at: number;
  /** This poll's counting interval ends at `at` and starts this many seconds before (`{{window}}`). */
  windowSeconds?: number;
}

export type MetricsReading =
  | { kind: 'sample'; sample: ErrorRateSample }
  /** No usable figure: an empty result, NaN (no requests), or a source that did not answer. */
  | { kind: 'missing'; at: string; reason: string };

export interface MetricsSource {
  /** Names the source in evidence: "prometheus http://…", "datadog https://…". */
  readonly name: string;
  /** Never throws for an unreachable or empty source (that is a missing reading); only when `signal` aborts. */
  read(q: MetricsQuery, signal?: AbortSignal): Promise<MetricsReading>;
}

export function queryVars(q: MetricsQuery) {
  return {
    service: q.service,
    environment: q.environment,
    version: q.version,
    readyAt: (q.readyAt / 1000).toFixed(3),
    window: `${Math.max(1, Math.round(q.windowSeconds ?? 60))}s`,
  };
}

/** The four counts a source reads with countQueries; `undefined` when that query returned no usable value. */
export interface RawCounts {
  errors: number | undefined;
  requests: number | undefined;
  baselineErrors: number | undefined;
  baselineRequests: number | undefined;
}

/**
 * Turns four count answers into a reading. increase() extrapolates to fractions: counts are
 * rounded, and errors never exceed requests. Any missing or negative figure makes the reading missing.
 */
export function countsReadingOf(q: MetricsQuery, raw: RawCounts, source: string): MetricsReading {
  const at = new Date(q.at).toISOString();
  const keys = ['errors', 'requests', 'baselineErrors', 'baselineRequests'] as const;
  const missing = keys.filter((k) => raw[k] === undefined || !Number.isFinite(raw[k]) || raw[k]! < -1e-9);
  if (missing.length)
    return { kind: 'missing', at, reason: `${source}: no data for ${missing.join(', ')} of ${q.environment}` };
  const [errors, requests, baselineErrors, baselineRequests] = keys.map((k) => Math.max(0, Math.round(raw[k]!)));
  const ratio = (e: number, n: number) => (n > 0 ? e / n : 0);
  const e = Math.min(errors, requests);
  const be = Math.min(baselineErrors, baselineRequests);
  return {
    kind: 'sample',
    sample: {
      environment: q.environment,
      rate: ratio(e, requests),
      baseline: ratio(be, baselineRequests),
      requestCount: requests,
      errors: e,
      requests,
      baselineErrors: be,
      baselineRequests,
      observedAt: at,
      source,
    },
  };
}

/** The metrics source a policy's monitoring section configures (undefined: none, signals only). */
export type MetricsSourceFactory = (monitoring: MonitoringSettings) => MetricsSource | undefined;

/**
 * Every query of one poll, settled before the poll returns: with Promise.all a failed poll would
 * return at its first failure while the client went on retrying the others in the background,
 * piling requests onto a struggling source. Rejects with the first failure, in query order.
 */
export async function allQueries<T>(queries: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(queries);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}
