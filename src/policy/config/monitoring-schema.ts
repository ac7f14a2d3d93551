// The policy's `monitoring` section: silence limit, poll interval and the metrics source the watch
// activity queries (Prometheus or Datadog). Sources are optional: without one, error rates reach a
// promotion only as `errorRate` signals. Pure: no I/O.
import { z } from 'zod';
import { QUERY_PLACEHOLDERS, unknownPlaceholders } from './query-template';

const templateText = z
  .string()
  .trim()
  .min(1, 'must be a non-empty query')
  .superRefine((text, ctx) => {
    for (const name of unknownPlaceholders(text)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder {{${name}}}; known: ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}`,
      });
    }
  });

/** One query for every window, or `{ staging, canary, production }` (canary defaults to production's). */
export const queryTemplateSchema = z.union([
  templateText,
  z.object({ staging: templateText, canary: templateText.optional(), production: templateText }).strict(),
]);

/**
 * Counts per poll, what the sequential breach test judges (docs/monitoring.md): the new version's
 * errors and requests over `{{window}}`; the baseline's over the same window (canary: the stable
 * version) or over a fixed window before `{{readyAt}}` (staging, production after the rollout).
 */
const countQueriesSchema = z
  .object({
    errors: queryTemplateSchema,
    requests: queryTemplateSchema,
    baselineErrors: queryTemplateSchema,
    baselineRequests: queryTemplateSchema,
  })
  .strict();

/** Rate queries, judged one sample at a time (which rolls back on noise): no longer read (issue 14). */
const RATE_QUERIES = ['errorRateQuery', 'baselineQuery', 'requestCountQuery'] as const;
/** What to configure instead, in the message that refuses them. */
const COUNT_QUERIES_SHAPE =
  'configure countQueries instead: { errors, requests, baselineErrors, baselineRequests }, each a query template ' +
  '(one string, or { staging, canary, production }) counting requests over the poll interval ' +
  '(Prometheus: increase(...[{{window}}])); see docs/monitoring.md';
const retired = {
  errorRateQuery: z.unknown().optional(),
  baselineQuery: z.unknown().optional(),
  requestCountQuery: z.unknown().optional(),
};

/**
 * A source reads counts (countQueries), what the sequential breach test judges. The rate queries of
 * older policies are refused, each naming itself and saying what to configure; `extra` are other
 * retired fields, with why.
 */
function countsOnly(extra: Record<string, string> = {}) {
  return (p: { countQueries?: unknown } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    for (const k of RATE_QUERIES)
      if (p[k] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `rate queries (errorRateQuery, baselineQuery, requestCountQuery) are no longer read: ${COUNT_QUERIES_SHAPE}`,
        });
    for (const [k, why] of Object.entries(extra))
      if (p[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: why });
    if (p.countQueries === undefined)
      ctx.addIssue({ code: 'custom', path: ['countQueries'], message: `is required: ${COUNT_QUERIES_SHAPE}` });
  };
}

/** The settings without the retired fields (always absent once the refinement passed). */
const withoutRetired = <T extends Record<string, unknown>>(p: T) => {
  const { errorRateQuery, baselineQuery, requestCountQuery, windowSeconds, countQueries, ...rest } = p;
  void [errorRateQuery, baselineQuery, requestCountQuery, windowSeconds];
  return { ...rest, countQueries: countQueries as z.infer<typeof countQueriesSchema> };
};

export const prometheusSourceSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL of the Prometheus server' }),
    ...retired,
    countQueries: countQueriesSchema.optional(),
    /** One HTTP query may take this long before the poll counts as missing data. */
    timeoutSeconds: z.number().positive().max(60).default(10),
  })
  .strict()
  .superRefine(countsOnly())
  .transform(withoutRetired);

export const datadogSourceSchema = z
  .object({
    /** API base URL of the Datadog site (api.datadoghq.eu, ...). Keys come from the worker's environment. */
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL of the Datadog API' })
      .default('https://api.datadoghq.com'),
    ...retired,
    windowSeconds: z.unknown().optional(),
    /**
     * `.as_count()` queries; Airlock sets each query's time range: the poll's interval, or for the
     * pre-deploy baselines (staging, production) the `preDeployWindowSeconds` before readiness.
     */
    countQueries: countQueriesSchema.optional(),
    /** The window before the version became ready that staging's and the production watch's baselines count. */
    preDeployWindowSeconds: z.number().int().min(60).max(86_400).default(1800),
  })
  .strict()
  .superRefine(
    countsOnly({
      windowSeconds:
        "was the rate queries' window, and rate queries are no longer read: count queries are read over the poll interval " +
        '(and preDeployWindowSeconds for the pre-deploy baselines); remove it',
    }),
  )
  .transform(withoutRetired);

export const monitoringSchema = z
  .object({
    /** No conclusive sample for this long during a watch rolls back: silence is never health. */
    maxSilenceMinutes: z.number().positive().default(10),
    /** How often the watch activity polls the metrics source. */
    intervalSeconds: z.number().min(1).max(3600).default(60),
    prometheus: prometheusSourceSchema.optional(),
    datadog: datadogSourceSchema.optional(),
    /**
     * The `source` values of `errorRate` signals trusted as evidence (src/workflows/untrusted-evidence.ts).
     * Default: none when a metrics source is configured, every signal otherwise.
     */
    signalSources: z.array(z.string().trim().min(1, 'must be a non-empty source name').max(200)).max(20).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.prometheus && m.datadog) {
      ctx.addIssue({
        code: 'custom',
        path: ['datadog'],
        message: 'configure one metrics source: prometheus or datadog, not both',
      });
    }
    if (m.intervalSeconds * 2 > m.maxSilenceMinutes * 60) {
      ctx.addIssue({
        code: 'custom',
        path: ['intervalSeconds'],
        message: `is ${m.intervalSeconds} s: at least two polls must fit in maxSilenceMinutes (${m.maxSilenceMinutes} min)`,
      });
    }
  });

export type MonitoringSettings = z.infer<typeof monitoringSchema>;
export type PrometheusSourceSettings = z.infer<typeof prometheusSourceSchema>;
export type DatadogSourceSettings = z.infer<typeof datadogSourceSchema>;

/** The configured metrics source, if any. Settings recorded before sources existed have none. */
export function metricsSourceOf(
  m: Partial<MonitoringSettings>,
):
  | { kind: 'prometheus'; settings: PrometheusSourceSettings }
  | { kind: 'datadog'; settings: DatadogSourceSettings }
  | undefined {
  if (m.prometheus) return { kind: 'prometheus', settings: m.prometheus };
  if (m.datadog) return { kind: 'datadog', settings: m.datadog };
  return undefined;
}
