// Datadog as a metrics source, through its official client (v1 MetricsApi.queryMetrics, GET
// /api/v1/query). The newest non-null point of the window is the figure; none is missing data.
// 429 and 5xx are retried by the client itself with its backoff.
import { client, v1 } from '@datadog/datadog-api-client';
import type { DatadogSourceSettings } from '../../policy/config/monitoring-schema';
import { renderQuery } from '../../policy/config/query-template';
import { queryVars, readingOf, type MetricsQuery, type MetricsReading, type MetricsSource } from '../metrics-source';

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

  async function newestPoint(query: string, at: number): Promise<number | undefined> {
    const to = Math.floor(at / 1000);
    const res = await metrics.queryMetrics({ from: to - settings.windowSeconds, to, query });
    if (res.status && res.status !== 'ok') throw new Error(`query status ${res.status}: ${res.error ?? ''}`.trim());
    const series = res.series ?? [];
    if (series.length > 1) throw new Error(`query returned ${series.length} series; aggregate it to one: ${query}`);
    const points = (series[0]?.pointlist ?? []).filter((p) => p[1] !== null && p[1] !== undefined);
    if (!points.length) return undefined;
    const newest = points.reduce((a, b) => (b[0] > a[0] ? b : a));
    return Number(newest[1]);
  }

  return {
    name,
    async read(q: MetricsQuery, signal?: AbortSignal): Promise<MetricsReading> {
      try {
        if (!credentials) throw new Error('no API/application key: set DD_API_KEY and DD_APP_KEY for the worker');
        const vars = queryVars(q);
        const render = (t: DatadogSourceSettings['errorRateQuery']) => renderQuery(t, q.target, vars, escapeDatadogTag);
        const [rate, baseline, requestCount] = await Promise.all([
          newestPoint(render(settings.errorRateQuery), q.at),
          newestPoint(render(settings.baselineQuery), q.at),
          newestPoint(render(settings.requestCountQuery), q.at),
        ]);
        return readingOf(q, { rate, baseline, requestCount }, name);
      } catch (err) {
        if (signal?.aborted) throw err;
        const e = err as Error & { code?: number; body?: unknown };
        const detail = e.code ? `HTTP ${e.code}: ${JSON.stringify(e.body).slice(0, 200)}` : e.message;
        return { kind: 'missing', at: new Date(q.at).toISOString(), reason: `${name}: ${detail}` };
      }
    },
  };
}
