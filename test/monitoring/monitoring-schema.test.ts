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
const countQueries = {
  errors: 'e{service="{{service}}"}',
  requests: 'r',
  baselineErrors: 'be',
  baselineRequests: 'br',
};
const prom = { url: 'http://prometheus:9090', countQueries };
const RATE_QUERIES_REFUSED =
  /rate queries \(errorRateQuery, baselineQuery, requestCountQuery\) are no longer read: configure countQueries instead: \{ errors, requests, baselineErrors, baselineRequests \}/;

describe('policy monitoring section', () => {
  it('a policy without a source parses as before, with the default poll interval and no source', () => {
    const { monitoring } = parsePolicy(testPolicyYaml()).policy;
    assert.deepEqual(monitoring, { maxSilenceMinutes: 60, intervalSeconds: 60 });
  });

  it('a Prometheus source gets its defaults; per-window templates are accepted', () => {
    const perWindow = { staging: 's @ {{readyAt}}', production: 'p' };
    const { monitoring } = parsePolicy(
      withMonitoring({ prometheus: { ...prom, countQueries: { ...countQueries, baselineErrors: perWindow } } }),
    ).policy;
    assert.equal(monitoring.prometheus?.timeoutSeconds, 10);
    assert.deepEqual(monitoring.prometheus?.countQueries.baselineErrors, perWindow);
  });

  it('rate queries are refused, each naming itself and giving the countQueries shape; a source without countQueries says what to configure', () => {
    for (const source of ['prometheus', 'datadog'] as const)
      for (const field of ['errorRateQuery', 'baselineQuery', 'requestCountQuery']) {
        const settings = source === 'prometheus' ? { ...prom, [field]: 'q' } : { countQueries, [field]: 'q' };
        assert.throws(
          () => parsePolicy(withMonitoring({ [source]: settings })),
          (err: Error) =>
            new RegExp(`monitoring\\.${source}\\.${field}: `).test(err.message) &&
            RATE_QUERIES_REFUSED.test(err.message),
          `${source}.${field}`,
        );
      }
    // An old policy: the three rate queries, no countQueries. Each is named, and so is countQueries.
    const old = { url: 'http://prometheus:9090', errorRateQuery: 'e', baselineQuery: 'b', requestCountQuery: 'c' };
    assert.throws(
      () => parsePolicy(withMonitoring({ prometheus: old })),
      (err: Error) =>
        ['errorRateQuery', 'baselineQuery', 'requestCountQuery'].every((f) =>
          err.message.includes(`monitoring.prometheus.${f}: rate queries`),
        ) && /monitoring\.prometheus\.countQueries: is required: configure countQueries instead/.test(err.message),
    );
    assert.throws(
      () => parsePolicy(withMonitoring({ datadog: { countQueries, windowSeconds: 300 } })),
      /monitoring\.datadog\.windowSeconds: was the rate queries' window, and rate queries are no longer read/,
    );
  });

  it('refuses unknown placeholders, two sources, a non-http URL and a poll interval the silence limit cannot hold twice', () => {
    assert.throws(
      () =>
        parsePolicy(
          withMonitoring({ prometheus: { ...prom, countQueries: { ...countQueries, errors: 'x{svc="{{svc}}"}' } } }),
        ),
      /monitoring\.prometheus\.countQueries\.errors.*unknown placeholder \{\{svc\}\}/s,
    );
    assert.throws(
      () =>
        parsePolicy(
          withMonitoring({
            prometheus: prom,
            datadog: { countQueries },
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

  it('Datadog reads counts with countQueries, its pre-deploy window defaulted; half a set is refused', () => {
    const { monitoring } = parsePolicy(withMonitoring({ datadog: { countQueries } })).policy;
    assert.equal(monitoring.datadog?.preDeployWindowSeconds, 1800);
    assert.deepEqual(monitoring.datadog?.countQueries, countQueries);
    assert.equal('errorRateQuery' in monitoring.datadog!, false);
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
