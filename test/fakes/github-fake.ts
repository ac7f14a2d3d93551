// A local GitHub: the REST endpoints Airlock calls (pull request files and commits, check runs, deployments)
// and webhook deliveries signed the way GitHub signs them (HMAC SHA-256 of the exact body).
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { startHttpFake, type Handler, type HttpFake } from './http-fake';

export interface GithubFake extends HttpFake {
  /** Files GitHub lists for pull request `number`. */
  prFiles: Map<number, string[]>;
  /** Commits GitHub lists for pull request `number`; unset: one commit by the agent. */
  prCommits: Map<number, FakeCommit[]>;
  /** Queue of rate-limit answers to give before the next successful write. */
  rateLimitNext: Array<'403' | '429'>;
}

/** One commit of a pull request: GitHub accounts (null where the git email matches none) and git identities. */
export interface FakeCommit {
  author: string | null;
  committer: string | null;
  git?: { author?: { name: string; email: string }; committer?: { name: string; email: string } };
}

/** GitHub lists at most this many commits of a pull request, whatever the page. */
const PR_COMMITS_LISTED = 250;

/** A `simple-user` as GitHub returns it. */
function simpleUser(login: string, id: number) {
  return {
    login,
    id,
    node_id: `MDQ6VXNlcj${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
  };
}

/** An item of GET /repos/{owner}/{repo}/pulls/{n}/commits, in GitHub's `commit` schema. */
function commitItem(repo: string, c: FakeCommit, i: number) {
  const sha = createHash('sha1')
    .update(`${repo}:${i}:${JSON.stringify(c)}`)
    .digest('hex');
  const gitUser = (login: string | null, git?: { name: string; email: string }) => ({
    name: git?.name ?? login ?? 'unknown',
    email: git?.email ?? `${1000 + i}+${login ?? 'unknown'}@users.noreply.github.com`,
    date: '2026-03-01T09:00:00Z',
  });
  return {
    url: `https://api.github.com/repos/${repo}/commits/${sha}`,
    sha,
    node_id: `C_${sha.slice(0, 12)}`,
    html_url: `https://github.com/${repo}/commit/${sha}`,
    comments_url: `https://api.github.com/repos/${repo}/commits/${sha}/comments`,
    commit: {
      url: `https://api.github.com/repos/${repo}/git/commits/${sha}`,
      author: gitUser(c.author, c.git?.author),
      committer: gitUser(c.committer, c.git?.committer),
      message: `commit ${i + 1}`,
      tree: { sha: 'e'.repeat(40), url: `https://api.github.com/repos/${repo}/git/trees/${'e'.repeat(40)}` },
      comment_count: 0,
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    },
    author: c.author === null ? null : simpleUser(c.author, 2000 + i),
    committer: c.committer === null ? null : simpleUser(c.committer, 3000 + i),
    parents: [{ sha: 'd'.repeat(40), url: `https://api.github.com/repos/${repo}/commits/${'d'.repeat(40)}` }],
  };
}

export async function startGithubFake(): Promise<GithubFake> {
  const fake = (await startHttpFake('github')) as GithubFake;
  fake.prFiles = new Map();
  fake.prCommits = new Map();
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
  // Paged as GitHub pages it: per_page (at most 100), page, and a Link header naming the next page.
  fake.route('GET', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/commits$/, (c, [repo, n]) => {
    if (!fake.prFiles.has(Number(n))) return { status: 404, body: { message: 'Not Found' } };
    const all = (fake.prCommits.get(Number(n)) ?? [{ author: 'airlock-agent[bot]', committer: 'web-flow' }])
      .slice(0, PR_COMMITS_LISTED)
      .map((commit, i) => commitItem(repo, commit, i));
    const perPage = Math.min(100, Number(c.query.get('per_page') ?? 30));
    const page = Number(c.query.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string) =>
      `<${fake.url}/repos/${repo}/pulls/${n}/commits?per_page=${perPage}&page=${p}>; rel="${rel}"`;
    return {
      status: 200,
      body: all.slice((page - 1) * perPage, page * perPage),
      headers:
        page < last ? { link: `${link(page + 1, 'next')}, ${link(last, 'last')}` } : ({} as Record<string, string>),
    };
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
