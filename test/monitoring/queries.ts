// The PromQL count templates the monitoring tests put in their policy: the ones docs/monitoring.md
// shows, with a 30 s pre-deploy window to suit a test's short life and a 1 s scrape interval.
import type { PrometheusSourceSettings } from '../../src/policy/config/monitoring-schema';

const sel = (extra: string) => `service="{{service}}",environment="{{environment}}"${extra}`;
/**
 * Count queries (docs/monitoring.md): each poll counts `{{window}}`, the interval since the previous
 * poll; the canary's baseline is the stable version over the same interval, staging's and the
 * production watch's the environment over the 30 s before the version became ready.
 */
const inc = (matchers: string, range: string, at = '') =>
  `sum(increase(http_requests_total{${matchers}}[${range}]${at})) or vector(0)`;
const PRE = ['30s', ' @ {{readyAt}}'] as const;
const newVersion = {
  staging: sel(''),
  canary: sel(',version="{{version}}"'),
  production: sel(',version="{{version}}"'),
};
const errorsOf = (m: string) => `${m},code=~"5.."`;
export const TEST_COUNT_QUERIES: PrometheusSourceSettings['countQueries'] = {
  errors: {
    staging: inc(errorsOf(newVersion.staging), '{{window}}'),
    canary: inc(errorsOf(newVersion.canary), '{{window}}'),
    production: inc(errorsOf(newVersion.production), '{{window}}'),
  },
  requests: {
    staging: inc(newVersion.staging, '{{window}}'),
    canary: inc(newVersion.canary, '{{window}}'),
    production: inc(newVersion.production, '{{window}}'),
  },
  baselineErrors: {
    staging: inc(errorsOf(sel('')), ...PRE),
    canary: inc(errorsOf(sel(',version!="{{version}}"')), '{{window}}'),
    production: inc(errorsOf(sel('')), ...PRE),
  },
  baselineRequests: {
    staging: inc(sel(''), ...PRE),
    canary: inc(sel(',version!="{{version}}"'), '{{window}}'),
    production: inc(sel(''), ...PRE),
  },
};

export function prometheusCountSettings(url: string): PrometheusSourceSettings {
  return { url, timeoutSeconds: 5, countQueries: TEST_COUNT_QUERIES };
}
