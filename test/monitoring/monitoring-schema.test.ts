// The policy's monitoring section: existing policies parse unchanged; sources are checked at load.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parsePolicy } from '../../src/policy/config/load';
import { renderQuery } from '../../src/policy/config/query-template';
import { escapePromQL } from '../../src/integrations/prometheus/prometheus-source';
import { escapeDatadogTag } from '../../src/integrations/datadog/datadog-source';
import { testPolicyYaml } from '../helpers/harness';

const withMonitoring = (m: unknown) =>
  testPolicyYaml().replace(/^monitoring: .*$/m, `monitoring: ${JSON.stringify(m)}`);
const prom = {
  url: 'http://prometheus:9090',
  errorRateQuery: 'e{service="{{service}}"}',
  baselineQuery: 'b',
  requestCountQuery: 'c',
};

describe('policy monitoring section', () => {
  it('a policy without a source parses as before, with the default poll interval and no source', () => {
    const { monitoring } = parsePolicy(testPolicyYaml()).policy;
    assert.deepEqual(monitoring, { maxSilenceMinutes: 60, intervalSeconds: 60 });
  });

  it('a Prometheus source gets its defaults; per-window templates are accepted', () => {
    const { monitoring } = parsePolicy(
      withMonitoring({ prometheus: { ...prom, baselineQuery: { staging: 's @ {{readyAt}}', production: 'p' } } }),
    ).policy;
    assert.equal(monitoring.prometheus?.timeoutSeconds, 10);
    assert.deepEqual(monitoring.prometheus?.baselineQuery, { staging: 's @ {{readyAt}}', production: 'p' });
  });

  it('refuses unknown placeholders, two sources, a non-http URL and a poll interval the silence limit cannot hold twice', () => {
    assert.throws(
      () => parsePolicy(withMonitoring({ prometheus: { ...prom, errorRateQuery: 'x{svc="{{svc}}"}' } })),
      /monitoring\.prometheus\.errorRateQuery.*unknown placeholder \{\{svc\}\}/s,
    );
    assert.throws(
      () =>
        parsePolicy(
          withMonitoring({
            prometheus: prom,
            datadog: { errorRateQuery: 'a', baselineQuery: 'b', requestCountQuery: 'c' },
          }),
        ),
      /monitoring\.datadog: configure one metrics source/,
    );
    assert.throws(
      () => parsePolicy(withMonitoring({ prometheus: { ...prom, url: 'ftp://prom' } })),
      /monitoring\.prometheus\.url: must be an http\(s\) URL/,
    );
    assert.throws(
      () => parsePolicy(withMonitoring({ maxSilenceMinutes: 1, intervalSeconds: 45 })),
      /monitoring\.intervalSeconds: is 45 s: at least two polls must fit/,
    );
  });

  it('Datadog reads counts with countQueries, its pre-deploy window defaulted; mixing or half a set is refused', () => {
    const countQueries = { errors: 'e.as_count()', requests: 'r', baselineErrors: 'be', baselineRequests: 'br' };
    const { monitoring } = parsePolicy(withMonitoring({ datadog: { countQueries } })).policy;
    assert.equal(monitoring.datadog?.preDeployWindowSeconds, 1800);
    assert.deepEqual(monitoring.datadog?.countQueries, countQueries);
    assert.throws(
      () => parsePolicy(withMonitoring({ datadog: { countQueries, errorRateQuery: 'a' } })),
      /monitoring\.datadog\.errorRateQuery: configure countQueries or the rate queries, not both/,
    );
    assert.throws(
      () => parsePolicy(withMonitoring({ datadog: { errorRateQuery: 'a', baselineQuery: 'b' } })),
      /monitoring\.datadog\.requestCountQuery: is required without countQueries; better, configure countQueries/,
    );
    assert.throws(
      () => parsePolicy(withMonitoring({ datadog: { countQueries: { ...countQueries, requests: undefined } } })),
      /monitoring\.datadog\.countQueries\.requests/,
    );
  });

  it('templates are filled per window; values are escaped for the query language', () => {
    const vars = {
      service: 'svc',
      environment: 'production',
      version: 'v"2',
      readyAt: '1700000000.000',
      window: '61s',
    };
    const t = { staging: 'S', production: 'P{version="{{version}}"}', canary: 'C' };
    assert.equal(renderQuery(t, 'canary', vars, escapePromQL), 'C');
    assert.equal(renderQuery({ staging: 'S', production: 'P' }, 'canary', vars, escapePromQL), 'P');
    assert.equal(renderQuery(t, 'production', vars, escapePromQL), 'P{version="v\\"2"}');
    assert.throws(
      () => renderQuery('x{version:{{version}}}', 'production', vars, escapeDatadogTag),
      /cannot be used as a Datadog tag value/,
    );
  });
});
