// The gate before the merge against a live server, the GitHub fake and a real git clone: signed
// `pull_request` deliveries (opened, synchronize) get the `Airlock policy` check run on their head
// commit, with the policy's findings annotated on their exact file and line.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deliveryHeaders, type GithubFake } from '../fakes/github-fake';
import type { RecordedCall } from '../fakes/http-fake';
import { githubExample } from '../fakes/github-payloads';
import { postPolicyCheckRun } from '../../src/integrations/github/policy-check-run';
import { createPullRequestChecker } from '../../src/server/pull-request-check';
import { startGithubWebhookRig, type GithubWebhookRig, type LiveServer } from './server-rig';

const SECRET = 'test-webhook-secret-0123456789';
const FILE = 'k8s/staging/notification-service/deployment.yaml';

/** A notification-service Deployment whose liveness probe fails after `failureThreshold` misses. */
function deployment(name: string, failureThreshold?: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: staging
spec:
  replicas: 4
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: ${name}
          image: registry.example.com/${name}:1.4.2
          resources:
            requests: { cpu: 50m, memory: 32Mi }
            limits: { memory: 32Mi }
          readinessProbe:
            httpGet: { path: /ready, port: 8080 }
${
  failureThreshold === undefined
    ? ''
    : `          livenessProbe:
            httpGet: { path: /health, port: 8080 }
            initialDelaySeconds: 10
            periodSeconds: 5
            failureThreshold: ${failureThreshold}
`
}`;
}

/**
 * The repository on "GitHub" (a plain repository whose pull request heads live under
 * refs/pull/N/head, as GitHub keeps them) and the server's `git clone --mirror` of it, made before
 * any pull request existed: the server must fetch each head itself.
 */
function repositories() {
  const root = mkdtempSync(join(tmpdir(), 'airlock-prgate-'));
  const origin = join(root, 'origin');
  const clone = join(root, 'clone.git');
  mkdirSync(origin);
  const git = (dir: string, ...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args])
      .toString()
      .trim();
  git(origin, 'init', '-q', '-b', 'master');
  const commit = (files: Record<string, string | null>, message: string) => {
    for (const [path, text] of Object.entries(files)) {
      const full = join(origin, path);
      if (text === null) rmSync(full);
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, text);
      }
    }
    git(origin, 'add', '-A');
    git(origin, 'commit', '-q', '--no-gpg-sign', '-m', message);
    return git(origin, 'rev-parse', 'HEAD');
  };
  const base = commit({ [FILE]: deployment('notification-service'), 'README.md': '# infra\n' }, 'base');
  execFileSync('git', ['clone', '-q', '--mirror', origin, clone]);
  return {
    clone,
    base,
    /** Commits `files` on pull request `number`'s branch (from base, or on its previous head). */
    push(number: number, files: Record<string, string | null>): string {
      const branch = `pr-${number}`;
      const exists = git(origin, 'branch', '--list', branch) !== '';
      git(origin, 'checkout', '-q', ...(exists ? [branch] : ['-b', branch, base]));
      const head = commit(files, `pull request ${number}`);
      git(origin, 'update-ref', `refs/pull/${number}/head`, head);
      git(origin, 'checkout', '-q', 'master');
      return head;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

let rig: GithubWebhookRig;
let github: GithubFake;
let server: LiveServer;
let repo: ReturnType<typeof repositories>;
beforeAll(async () => {
  repo = repositories();
  rig = await startGithubWebhookRig(SECRET, undefined, (octokit) => ({
    checkPullRequest: createPullRequestChecker({
      repoDir: repo.clone,
      protectedPaths: [],
      post: (check) => postPolicyCheckRun(octokit, check),
    }),
  }));
  ({ github, server } = rig);
});
afterAll(async () => {
  await rig?.close();
  repo?.remove();
});

/** The real `pull_request.opened` example as `action` on pull request `number` at `head`. */
function pullRequestDelivery(action: string, number: number, head: string): string {
  const pr = githubExample('pull_request', (x) => x.action === 'opened');
  pr.action = action;
  pr.number = number;
  pr.pull_request.number = number;
  pr.pull_request.user.login = 'airlock-agent[bot]';
  pr.pull_request.base.sha = repo.base;
  pr.pull_request.head.sha = head;
  return JSON.stringify(pr);
}

const isCreate = (head: string) => (c: RecordedCall) =>
  c.method === 'POST' && c.path.endsWith('/check-runs') && (c.body as { head_sha: string }).head_sha === head;

interface CheckRunBody {
  name: string;
  head_sha: string;
  status: string;
  conclusion: string;
  output: { title: string; summary: string; annotations: Record<string, unknown>[] };
}

describe('pull requests get the Airlock policy check run before the merge', () => {
  test('opened with a blocked change: failure on the head commit, the finding annotated on its line; a push that fixes it: success on the new head', async () => {
    const head = repo.push(7, { [FILE]: deployment('notification-service', 1) });
    const body = pullRequestDelivery('opened', 7, head);
    const r = await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body));
    assert.deepEqual([r.status, r.json], [202, { checking: 'Airlock policy', pullRequest: 7, head }]);
    const created = (await github.waitFor(isCreate(head))).body as CheckRunBody;
    assert.deepEqual(
      [created.name, created.head_sha, created.status, created.conclusion],
      ['Airlock policy', head, 'completed', 'failure'],
    );
    assert.equal(created.output.title, 'blocked: 1 blocking finding(s), 0 warning(s)');
    assert.equal(created.output.annotations.length, 1);
    const [a] = created.output.annotations;
    assert.match(String(a.title), /^liveness-probe \(liveness-probe-[0-9a-f]{10}\)$/);
    assert.deepEqual(
      { ...a, title: undefined, message: undefined },
      {
        path: FILE,
        start_line: 26,
        end_line: 26,
        annotation_level: 'failure',
        title: undefined,
        message: undefined,
      },
    );
    assert.match(
      String(a.message),
      /failureThreshold[\s\S]*\n\nwaivable: a waiver signed by 2 approvers may lift it after merge$/,
    );
    assert.match(created.output.summary, /^\*\*Airlock policy: BLOCK\*\* on /);
    assert.match(created.output.summary, /1 blocking finding\(s\) \(1 waivable\), 0 warning\(s\); 1 annotated/);

    // The agent pushes a fix: a new check run on the new head, the old one stays on the old head.
    const fixed = repo.push(7, { [FILE]: deployment('notification-service', 3) });
    const sync = pullRequestDelivery('synchronize', 7, fixed);
    const r2 = await server.post('/webhooks/github', sync, deliveryHeaders('pull_request', SECRET, sync));
    assert.equal(r2.status, 202);
    const second = (await github.waitFor(isCreate(fixed))).body as CheckRunBody;
    assert.deepEqual(
      [second.name, second.head_sha, second.conclusion, second.output.title, second.output.annotations],
      ['Airlock policy', fixed, 'success', 'allowed: no findings', []],
    );
    assert.equal(github.calls.filter(isCreate(head)).length, 1);
  });

  test('a forged signature gets 401 and no check run', async () => {
    const head = repo.push(8, { [FILE]: deployment('notification-service', 1) });
    const body = pullRequestDelivery('opened', 8, head);
    const r = await server.post(
      '/webhooks/github',
      body,
      deliveryHeaders('pull_request', 'not-the-secret-at-all-000', body),
    );
    assert.deepEqual([r.status, r.json.error], [401, 'x-hub-signature-256: does not match the webhook secret']);
    // A genuine delivery after it is checked, and by then the forged one would have been too.
    const other = repo.push(9, { 'README.md': '# infra, documented\n' });
    const genuine = pullRequestDelivery('opened', 9, other);
    await server.post('/webhooks/github', genuine, deliveryHeaders('pull_request', SECRET, genuine));
    const docsOnly = (await github.waitFor(isCreate(other))).body as CheckRunBody;
    assert.deepEqual([docsOnly.conclusion, docsOnly.output.title], ['success', 'allowed: no findings']);
    assert.equal(github.calls.filter(isCreate(head)).length, 0);
  });

  test('more than 50 findings: 50 annotations on the create, the rest appended by updates', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 56 }, (_, i) => [
        `k8s/staging/notification-service/worker-${String(i).padStart(2, '0')}.yaml`,
        deployment(`worker-${i}`, 1),
      ]),
    );
    const head = repo.push(10, files);
    const body = pullRequestDelivery('reopened', 10, head);
    assert.equal(
      (await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body))).status,
      202,
    );
    const created = (await github.waitFor(isCreate(head))).body as CheckRunBody;
    assert.equal(created.conclusion, 'failure');
    assert.equal(created.output.annotations.length, 50);
    const listed = await fetch(`${github.url}/repos/Codertocat/Hello-World/commits/${head}/check-runs`);
    const [run] = ((await listed.json()) as { check_runs: { id: number }[] }).check_runs;
    const update = await github.waitFor((c) => c.method === 'PATCH' && c.path.endsWith(`/check-runs/${run.id}`));
    const updated = update.body as CheckRunBody;
    // 56 liveness-probe findings, each on its file, then the change's one warning (node pool
    // memory); files-per-change is about the whole change and goes into the summary only.
    assert.equal(updated.output.annotations.length, 7);
    const all = [...created.output.annotations, ...updated.output.annotations];
    assert.deepEqual(
      all.slice(0, 56).map((a) => [a.path, a.start_line, a.annotation_level]),
      Object.keys(files).map((path) => [path, 26, 'failure']),
    );
    assert.ok(all.slice(0, 56).every((a) => /^liveness-probe \(liveness-probe-[0-9a-f]{10}\)$/.test(String(a.title))));
    assert.deepEqual([all[56].annotation_level, String(all[56].title).split(' ')[0]], ['warning', 'memory-capacity']);
    assert.equal(updated.output.title, created.output.title);
    assert.match(created.output.summary, /\*\*Findings\*\*\n- \*\*block\*\* `files-per-change`/);
    assert.equal(
      github.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith(`/check-runs/${run.id}`)).length,
      1,
    );
  });

  test('a head the clone cannot fetch: failure, the unreadable change in the summary (no file to annotate)', async () => {
    const missing = 'e'.repeat(40);
    const body = pullRequestDelivery('opened', 11, missing);
    assert.equal(
      (await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body))).status,
      202,
    );
    const created = (await github.waitFor(isCreate(missing))).body as CheckRunBody;
    assert.deepEqual(
      [created.conclusion, created.output.title, created.output.annotations],
      ['failure', 'blocked: 1 blocking finding(s), 0 warning(s)', []],
    );
    assert.match(
      created.output.summary,
      /\n- \*\*block\*\* `unreadable-change` \(`unreadable-change-[0-9a-f]{10}`\): cannot read pull request #11 \(base [0-9a-f]{12}, head eeeeeeeeeeee\) from the server's clone: .* — _not waivable: the change itself must be fixed_$/,
    );
  });

  test('a pull request into a side branch is ignored (202, with why); one without head.sha is 400', async () => {
    const head = repo.push(12, { [FILE]: deployment('notification-service', 1) });
    const side = JSON.parse(pullRequestDelivery('opened', 12, head));
    side.pull_request.base.ref = 'feature-x';
    const sideBody = JSON.stringify(side);
    const r1 = await server.post('/webhooks/github', sideBody, deliveryHeaders('pull_request', SECRET, sideBody));
    assert.deepEqual([r1.status, r1.json], [202, { ignored: 'targets feature-x, not the default branch master' }]);
    const headless = JSON.parse(pullRequestDelivery('synchronize', 12, head));
    delete headless.pull_request.head;
    const headlessBody = JSON.stringify(headless);
    const r2 = await server.post(
      '/webhooks/github',
      headlessBody,
      deliveryHeaders('pull_request', SECRET, headlessBody),
    );
    assert.deepEqual(
      [r2.status, r2.json.error],
      [400, 'pull_request payload: pull_request.head.sha: missing on an open pull request'],
    );
    // Both answered before any check could run; a later genuine delivery's check run is the first on this head.
    const genuine = pullRequestDelivery('reopened', 12, head);
    await server.post('/webhooks/github', genuine, deliveryHeaders('pull_request', SECRET, genuine));
    await github.waitFor(isCreate(head));
    assert.equal(github.calls.filter(isCreate(head)).length, 1);
  });

  test('deliveries at once, each needing a fetch into the clone: every one judged on its content', async () => {
    const heads = [20, 21, 22, 23, 24, 25].map((n) => ({
      n,
      head: repo.push(n, { [FILE]: deployment('notification-service', 1) }),
    }));
    const answers = await Promise.all(
      heads.map(({ n, head }) => {
        const body = pullRequestDelivery('opened', n, head);
        return server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body));
      }),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      heads.map(() => 202),
    );
    for (const { head } of heads) {
      const created = (await github.waitFor(isCreate(head))).body as CheckRunBody;
      assert.deepEqual(
        [created.conclusion, created.output.annotations.map((a) => String(a.title).split(' ')[0])],
        ['failure', ['liveness-probe']],
      );
    }
  });

  test('GitHub refusing the check run is logged, not thrown: the server answers the next delivery', async () => {
    const head = repo.push(30, { [FILE]: deployment('notification-service', 3) });
    github.rateLimitNext.push('429');
    const body = pullRequestDelivery('opened', 30, head);
    assert.equal(
      (await server.post('/webhooks/github', body, deliveryHeaders('pull_request', SECRET, body))).status,
      202,
    );
    await github.waitFor(isCreate(head));
    // The push after it gets its check run (and an unhandled rejection would have failed this file).
    const next = repo.push(30, { 'README.md': '# infra, again\n' });
    const sync = pullRequestDelivery('synchronize', 30, next);
    assert.equal(
      (await server.post('/webhooks/github', sync, deliveryHeaders('pull_request', SECRET, sync))).status,
      202,
    );
    assert.equal(((await github.waitFor(isCreate(next))).body as CheckRunBody).conclusion, 'success');
    assert.equal(github.calls.filter(isCreate(head)).length, 1);
  });
});
