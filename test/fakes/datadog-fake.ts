// A fake Datadog API speaking the real v1 metrics query payload (GET /api/v1/query): checks the
// DD-API-KEY / DD-APPLICATION-KEY headers and answers each query from the series the test sets.
import { startHttpFake, type HttpFake } from './http-fake';

export const DD_TEST_KEYS = { apiKey: 'dd-api-key-0123456789abcdef', appKey: 'dd-app-key-0123456789abcdef0123456789' };

export interface DatadogFake {
  url: string;
  fake: HttpFake;
  /**
   * Points per query over the requested range in POSIX seconds (newest last); undefined: no series;
   * null values are gaps, as Datadog sends them.
   */
  series: (query: string, from: number, to: number) => Array<[number, number | null]> | undefined;
  /** The next `n` queries fail with this status (Datadog's 5xx body). */
  failNext(n: number, status?: number): void;
}

export async function startDatadogFake(): Promise<DatadogFake> {
  const fake = await startHttpFake('datadog');
  let failures = 0;
  let failStatus = 503;
  const dd: DatadogFake = {
    url: fake.url,
    fake,
    series: () => undefined,
    failNext(n, status = 503) {
      failures = n;
      failStatus = status;
    },
  };
  fake.route('GET', /^\/api\/v1\/query$/, (call) => {
    if (
      call.headers['dd-api-key'] !== DD_TEST_KEYS.apiKey ||
      call.headers['dd-application-key'] !== DD_TEST_KEYS.appKey
    ) {
      return { status: 403, body: { errors: ['Forbidden'] } };
    }
    if (failures > 0) {
      failures--;
      return { status: failStatus, body: { errors: ['Internal Server Error'] } };
    }
    const query = call.query.get('query') ?? '';
    const from = Number(call.query.get('from'));
    const to = Number(call.query.get('to'));
    if (!query || !Number.isInteger(from) || !Number.isInteger(to)) {
      return {
        status: 400,
        body: { errors: ['Invalid query parameters: from, to (POSIX seconds) and query are required'] },
      };
    }
    const points = dd.series(query, from, to);
    const series = points
      ? [
          {
            metric: query.split('{')[0],
            display_name: query.split('{')[0],
            unit: null,
            pointlist: points,
            end: to * 1000,
            interval: 20,
            start: from * 1000,
            length: points.length,
            aggr: 'sum',
            scope: query.match(/\{([^}]*)\}/)?.[1] ?? '*',
            expression: query,
            query_index: 0,
            tag_set: [],
            attributes: {},
          },
        ]
      : [];
    return {
      status: 200,
      body: {
        status: 'ok',
        res_type: 'time_series',
        resp_version: 1,
        query,
        from_date: from * 1000,
        to_date: to * 1000,
        series,
        values: [],
        times: [],
        message: '',
        group_by: [],
      },
    };
  });
  return dd;
}
