// Picks the metrics source the policy configures. Credentials come from the worker's environment
// (parsed once in createDeps), never from the policy, which travels in workflow history.
import { z } from 'zod';
import { metricsSourceOf, type MonitoringSettings } from '../policy/config/monitoring-schema';
import { createDatadogSource, type DatadogClientOptions, type DatadogCredentials } from './datadog/datadog-source';
import type { MetricsSource } from './metrics-source';
import type { MetricsSourceFactory } from './metrics-source';
import { createPrometheusSource } from './prometheus/prometheus-source';

export interface MetricsSourceOptions {
  datadog?: DatadogCredentials;
  datadogClient?: DatadogClientOptions;
  fetch?: typeof fetch;
}

export function createMetricsSourceFactory(o: MetricsSourceOptions = {}): MetricsSourceFactory {
  // One source per configuration, so the Datadog client is not rebuilt for every window.
  const cache = new Map<string, MetricsSource>();
  return (monitoring: MonitoringSettings) => {
    const configured = metricsSourceOf(monitoring);
    if (!configured) return undefined;
    // Settings recorded before issue 14 (a promotion still in flight) may name rate queries only.
    if (!configured.settings.countQueries)
      throw new Error(
        `the policy's ${configured.kind} source has no countQueries: its rate queries (errorRateQuery, baselineQuery, ` +
          'requestCountQuery) are no longer read; configure countQueries (docs/monitoring.md)',
      );
    const key = JSON.stringify(configured);
    let source = cache.get(key);
    if (!source) {
      source =
        configured.kind === 'prometheus'
          ? createPrometheusSource(configured.settings, o.fetch)
          : createDatadogSource(configured.settings, o.datadog, o.datadogClient);
      cache.set(key, source);
    }
    return source;
  };
}

const datadogEnvSchema = z.object({
  DD_API_KEY: z.string().min(1).optional(),
  DD_APP_KEY: z.string().min(1).optional(),
});

/** Datadog keys from DD_API_KEY / DD_APP_KEY; both or neither. */
export function datadogCredentialsFromEnv(env: NodeJS.ProcessEnv): DatadogCredentials | undefined {
  const { DD_API_KEY, DD_APP_KEY } = datadogEnvSchema.parse(env);
  if (!DD_API_KEY && !DD_APP_KEY) return undefined;
  if (!DD_API_KEY || !DD_APP_KEY) throw new Error('config: DD_API_KEY and DD_APP_KEY must be set together');
  return { apiKey: DD_API_KEY, appKey: DD_APP_KEY };
}
