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

export const prometheusSourceSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL of the Prometheus server' }),
    errorRateQuery: queryTemplateSchema.optional(),
    baselineQuery: queryTemplateSchema.optional(),
    requestCountQuery: queryTemplateSchema.optional(),
    countQueries: countQueriesSchema.optional(),
    /** One HTTP query may take this long before the poll counts as missing data. */
    timeoutSeconds: z.number().positive().max(60).default(10),
  })
  .strict()
  .superRefine(oneKindOfQueries);

/** A source reads counts (countQueries) or, as before, the three rate queries: one kind, complete. */
function oneKindOfQueries(
  p: { countQueries?: unknown } & Partial<Record<'errorRateQuery' | 'baselineQuery' | 'requestCountQuery', unknown>>,
  ctx: z.RefinementCtx,
): void {
  const rates = (['errorRateQuery', 'baselineQuery', 'requestCountQuery'] as const).filter((k) => p[k] !== undefined);
  if (p.countQueries && rates.length)
    ctx.addIssue({
      code: 'custom',
      path: [rates[0]],
      message: 'configure countQueries or the rate queries, not both (counts are what the breach test judges)',
    });
  if (!p.countQueries)
    for (const k of ['errorRateQuery', 'baselineQuery', 'requestCountQuery'] as const)
      if (p[k] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message:
            'is required without countQueries; better, configure countQueries (errors, requests, baselineErrors, baselineRequests)',
        });
}

export const datadogSourceSchema = z
  .object({
    /** API base URL of the Datadog site (api.datadoghq.eu, ...). Keys come from the worker's environment. */
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL of the Datadog API' })
      .default('https://api.datadoghq.com'),
    errorRateQuery: queryTemplateSchema.optional(),
    baselineQuery: queryTemplateSchema.optional(),
    requestCountQuery: queryTemplateSchema.optional(),
    /**
     * `.as_count()` queries; Airlock sets each query's time range: the poll's interval, or for the
     * pre-deploy baselines (staging, production) the `preDeployWindowSeconds` before readiness.
     */
    countQueries: countQueriesSchema.optional(),
    /** Rate queries: the query window ending now; the newest non-null point of it is the sample. */
    windowSeconds: z.number().int().positive().max(3600).default(300),
    /** Count queries: the window before the version became ready that staging's and the production watch's baselines count. */
    preDeployWindowSeconds: z.number().int().min(60).max(86_400).default(1800),
  })
  .strict()
  .superRefine(oneKindOfQueries);

export const monitoringSchema = z
  .object({
    /** No conclusive sample for this long during a watch rolls back: silence is never health. */
    maxSilenceMinutes: z.number().positive().default(10),
    /** How often the watch activity polls the metrics source. */
    intervalSeconds: z.number().min(1).max(3600).default(60),
    prometheus: prometheusSourceSchema.optional(),
    datadog: datadogSourceSchema.optional(),
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
