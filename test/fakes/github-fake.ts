// A local GitHub: the REST endpoints Airlock calls (pull request files, check runs, deployments)
// and webhook deliveries signed the way GitHub signs them (HMAC SHA-256 of the exact body).
import { createHmac, randomUUID } from 'node:crypto';
import { startHttpFake, type Handler, type HttpFake } from './http-fake';

export interface GithubFake extends HttpFake {
  /** Files GitHub lists for pull request `number`. */
  prFiles: Map<number, string[]>;
  /** Queue of rate-limit answers to give before the next successful write. */
  rateLimitNext: Array<'403' | '429'>;
}

export async function startGithubFake(): Promise<GithubFake> {
  const fake = (await startHttpFake('github')) as GithubFake;
  fake.prFiles = new Map();
  fake.rateLimitNext = [];
  let nextId = 100;
  const limited = (): ReturnType<Handler> | undefined => {
    const kind = fake.rateLimitNext.shift();
    if (kind === '403')
      return {
        status: 403,
        body: { message: 'API rate limit exceeded' },
        headers: {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1),
          'retry-after': '1',
        },
      };
    if (kind === '429')
      return {
        status: 429,
        body: { message: 'You have exceeded a secondary rate limit' },
        headers: { 'retry-after': '1' },
      };
    return undefined;
  };
  fake.route('GET', /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)\/files$/, (_c, [n]) => {
    const files = fake.prFiles.get(Number(n));
    return files
      ? {
          status: 200,
          body: files.map((filename) => ({
            sha: 'f'.repeat(40),
            filename,
            status: 'modified',
            additions: 1,
            deletions: 1,
            changes: 2,
          })),
        }
      : { status: 404, body: { message: 'Not Found' } };
  });
  const checkRuns: Array<{ id: number; head_sha: string; name: string }> = [];
  const deployments: Array<{ id: number; sha: string; environment: string }> = [];
  fake.route('GET', /^\/repos\/[^/]+\/[^/]+\/commits\/([0-9a-f]+)\/check-runs$/, (c, [ref]) => {
    const runs = checkRuns.filter(
      (r) => r.head_sha === ref && (!c.query.get('check_name') || r.name === c.query.get('check_name')),
    );
    return { status: 200, body: { total_count: runs.length, check_runs: runs } };
  });
  fake.route('POST', /^\/repos\/[^/]+\/[^/]+\/check-runs$/, (c) => {
    const answer = limited();
    if (answer) return answer;
    const b = c.body as { head_sha: string; name: string };
    const run = { id: nextId++, head_sha: b.head_sha, name: b.name };
    checkRuns.push(run);
    return { status: 201, body: run };
  });
  fake.route('GET', /^\/repos\/[^/]+\/[^/]+\/deployments$/, (c) => ({
    status: 200,
    body: deployments.filter((d) => d.sha === c.query.get('sha') && d.environment === c.query.get('environment')),
  }));
  fake.route('POST', /^\/repos\/[^/]+\/[^/]+\/deployments$/, (c) => {
    const answer = limited();
    if (answer) return answer;
    const b = c.body as { ref: string; environment: string };
    if (!b.environment)
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ field: 'environment', code: 'missing' }] },
      };
    const d = { id: nextId++, sha: b.ref, environment: b.environment };
    deployments.push(d);
    return { status: 201, body: d };
  });
  fake.route(
    'PATCH',
    /^\/repos\/[^/]+\/[^/]+\/check-runs\/(\d+)$/,
    (_c, [id]) => limited() ?? { status: 200, body: { id: Number(id) } },
  );
  fake.route(
    'POST',
    /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/,
    () => limited() ?? { status: 201, body: { id: nextId++ } },
  );
  return fake;
}

export function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Headers of a real delivery: event name, delivery GUID, signature. */
export function deliveryHeaders(
  event: string,
  secret: string,
  body: string,
  delivery = randomUUID(),
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-github-hook-id': '1',
    'user-agent': 'GitHub-Hookshot/fake',
    'x-hub-signature-256': githubSignature(secret, body),
  };
}
