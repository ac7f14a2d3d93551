// The PromQL templates the monitoring tests put in their policy: the ones docs/monitoring.md shows,
// with a 5 s rate window to suit a 1 s scrape interval.
import type { PrometheusSourceSettings } from '../../src/policy/config/monitoring-schema';

const sel = (extra: string) => `service="{{service}}",environment="{{environment}}"${extra}`;
const ratio = (matchers: string, at = '') =>
  `(sum(rate(http_requests_total{${matchers},code=~"5.."}[5s]${at})) or vector(0)) / sum(rate(http_requests_total{${matchers}}[5s]${at}))`;

export const TEST_QUERIES = {
  errorRateQuery: {
    staging: ratio(sel('')),
    canary: ratio(sel(',version="{{version}}"')),
    production: ratio(sel(',version="{{version}}"')),
  },
  baselineQuery: {
    // Staging: the environment just before the new version became ready.
    staging: ratio(sel(''), ' @ {{readyAt}}'),
    // Canary: the stable version, at the same moment.
    canary: ratio(sel(',version!="{{version}}"')),
    // After the rollout there is no stable version left: production just before it.
    production: ratio(sel(''), ' @ {{readyAt}}'),
  },
  requestCountQuery: {
    staging: `sum(increase(http_requests_total{${sel('')}}[5s]))`,
    canary: `sum(increase(http_requests_total{${sel(',version="{{version}}"')}}[5s]))`,
    production: `sum(increase(http_requests_total{${sel(',version="{{version}}"')}}[5s]))`,
  },
} satisfies Omit<PrometheusSourceSettings, 'url' | 'timeoutSeconds'>;

export function prometheusSettings(url: string): PrometheusSourceSettings {
  return { url, timeoutSeconds: 5, ...TEST_QUERIES };
}

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
export const TEST_COUNT_QUERIES = {
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
