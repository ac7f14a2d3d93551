// Datadog as a metrics source, through its official client (v1 MetricsApi.queryMetrics, GET
// /api/v1/query). Count queries (`.as_count()`): the sum of the points in the range Airlock sets
// (the poll's interval, or the pre-deploy window). No point at all is missing data. 429 and 5xx
// are retried by the client with its backoff.
import { client, v1 } from '@datadog/datadog-api-client';
import type { DatadogSourceSettings } from '../../policy/config/monitoring-schema';
import { renderQuery, type QueryTemplate } from '../../policy/config/query-template';
import {
  allQueries,
  countsReadingOf,
  queryVars,
  type MetricsQuery,
  type MetricsReading,
  type MetricsSource,
} from '../metrics-source';

export interface DatadogCredentials {
  apiKey: string;
  appKey: string;
}

export interface DatadogClientOptions {
  /** Retries of 429/5xx by the client; 0 disables. */
  maxRetries?: number;
  /** Client backoff: multiplier^attempt * base seconds (the client refuses a base under 2). */
  backoffBaseSeconds?: number;
  backoffMultiplier?: number;
}

/** Tag values in a Datadog query end at `,` `}` or whitespace: such a value cannot be a tag. */
export const escapeDatadogTag = (v: string) => {
  if (!/^[A-Za-z0-9_.:/\-]+$/.test(v)) throw new Error(`"${v}" cannot be used as a Datadog tag value`);
  return v;
};

export function createDatadogSource(
  settings: DatadogSourceSettings,
  credentials: DatadogCredentials | undefined,
  opts: DatadogClientOptions = {},
): MetricsSource {
  const base = settings.url.replace(/\/+$/, '');
  const name = `datadog ${base}`;
  const configuration = client.createConfiguration({
    baseServer: new client.BaseServerConfiguration(base, {}),
    authMethods: credentials ? { apiKeyAuth: credentials.apiKey, appKeyAuth: credentials.appKey } : {},
    enableRetry: (opts.maxRetries ?? 3) > 0,
    maxRetries: opts.maxRetries ?? 3,
    backoffBase: opts.backoffBaseSeconds ?? 2,
    backoffMultiplier: opts.backoffMultiplier ?? 2,
  });
  const metrics = new v1.MetricsApi(configuration);

  /** The non-null points of the one series `query` returns over [from, to] (seconds). */
  async function pointsOf(query: string, from: number, to: number): Promise<Array<[number, number]>> {
    const res = await metrics.queryMetrics({ from, to, query });
    if (res.status && res.status !== 'ok') throw new Error(`query status ${res.status}: ${res.error ?? ''}`.trim());
    const series = res.series ?? [];
    if (series.length > 1) throw new Error(`query returned ${series.length} series; aggregate it to one: ${query}`);
    return (series[0]?.pointlist ?? [])
      .filter((p) => p[1] !== null && p[1] !== undefined)
      .map((p) => [Number(p[0]), Number(p[1])]);
  }

  /** An `.as_count()` query's total over [from, to]: its points are counts per rollup interval. */
  async function total(query: string, from: number, to: number): Promise<number | undefined> {
    const points = await pointsOf(query, from, to);
    return points.length ? points.reduce((sum, p) => sum + p[1], 0) : undefined;
  }

  async function readCounts(
    c: DatadogSourceSettings['countQueries'],
    q: MetricsQuery,
    render: (t: QueryTemplate) => string,
  ): Promise<MetricsReading> {
    const to = Math.floor(q.at / 1000);
    const interval = [to - Math.max(1, Math.round(q.windowSeconds ?? 60)), to] as const;
    // Staging's and the production watch's baseline is the environment before the deploy; the
    // canary's is the stable version over the same interval (the sequential test's two modes).
    const ready = Math.floor(q.readyAt / 1000);
    const baseline = q.target === 'canary' ? interval : ([ready - settings.preDeployWindowSeconds, ready] as const);
    const [errors, requests, baselineErrors, baselineRequests] = await allQueries([
      total(render(c.errors), ...interval),
      total(render(c.requests), ...interval),
      total(render(c.baselineErrors), ...baseline),
      total(render(c.baselineRequests), ...baseline),
    ]);
    return countsReadingOf(q, { errors, requests, baselineErrors, baselineRequests }, name);
  }

  return {
    name,
    async read(q: MetricsQuery, signal?: AbortSignal): Promise<MetricsReading> {
      try {
        if (!credentials) throw new Error('no API/application key: set DD_API_KEY and DD_APP_KEY for the worker');
        const vars = queryVars(q);
        const render = (t: QueryTemplate) => renderQuery(t, q.target, vars, escapeDatadogTag);
        return await readCounts(settings.countQueries, q, render);
      } catch (err) {
        if (signal?.aborted) throw err;
        const e = err as Error & { code?: number; body?: unknown };
        const detail = e.code ? `HTTP ${e.code}: ${JSON.stringify(e.body).slice(0, 200)}` : e.message;
        return { kind: 'missing', at: new Date(q.at).toISOString(), reason: `${name}: ${detail}` };
      }
    },
  };
}
