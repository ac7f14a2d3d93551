// Prometheus as a metrics source: the policy's PromQL count templates, evaluated as instant queries
// (GET /api/v1/query) at the poll time. An empty vector or NaN is missing data.
import type { PrometheusSourceSettings } from '../../policy/config/monitoring-schema';
import { renderQuery, type QueryTemplate } from '../../policy/config/query-template';
import {
  allQueries,
  countsReadingOf,
  queryVars,
  type MetricsQuery,
  type MetricsReading,
  type MetricsSource,
} from '../metrics-source';

/** A PromQL string literal may hold any value once backslashes and quotes are escaped. */
export const escapePromQL = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

interface InstantQueryResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

export class PrometheusQueryError extends Error {}

export function createPrometheusSource(
  settings: PrometheusSourceSettings,
  fetchFn: typeof fetch = fetch,
): MetricsSource {
  const base = settings.url.replace(/\/+$/, '');
  const name = `prometheus ${base}`;

  /** One instant query; the single value of a scalar or one-element vector, undefined when empty. */
  async function instant(query: string, at: number, signal?: AbortSignal): Promise<number | undefined> {
    const body = new URLSearchParams({ query, time: (at / 1000).toFixed(3) });
    const timeout = AbortSignal.timeout(settings.timeoutSeconds * 1000);
    const res = await fetchFn(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    let parsed: InstantQueryResponse;
    try {
      parsed = JSON.parse(text) as InstantQueryResponse;
    } catch {
      throw new PrometheusQueryError(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (!res.ok || parsed.status !== 'success' || !parsed.data) {
      throw new PrometheusQueryError(
        `HTTP ${res.status} ${parsed.errorType ?? ''}: ${parsed.error ?? text.slice(0, 200)}`.trim(),
      );
    }
    const { resultType, result } = parsed.data;
    if (resultType === 'scalar') return Number((result as [number, string])[1]);
    if (resultType !== 'vector')
      throw new PrometheusQueryError(`query must return an instant vector or scalar, got ${resultType}: ${query}`);
    const vector = result as { metric: Record<string, string>; value: [number, string] }[];
    if (vector.length === 0) return undefined;
    if (vector.length > 1) {
      // Several series would make the figure depend on which one came first: the query must aggregate.
      throw new PrometheusQueryError(
        `query returned ${vector.length} series; aggregate it (sum, max) to one: ${query}`,
      );
    }
    return Number(vector[0].value[1]);
  }

  return {
    name,
    async read(q: MetricsQuery, signal?: AbortSignal): Promise<MetricsReading> {
      const vars = queryVars(q);
      const render = (t: QueryTemplate) => renderQuery(t, q.target, vars, escapePromQL);
      const ask = (t: QueryTemplate) => instant(render(t), q.at, signal);
      try {
        const c = settings.countQueries;
        const [errors, requests, baselineErrors, baselineRequests] = await allQueries(
          [c.errors, c.requests, c.baselineErrors, c.baselineRequests].map(ask),
        );
        return countsReadingOf(q, { errors, requests, baselineErrors, baselineRequests }, name);
      } catch (err) {
        if (signal?.aborted) throw err;
        return { kind: 'missing', at: new Date(q.at).toISOString(), reason: `${name}: ${(err as Error).message}` };
      }
    },
  };
}
