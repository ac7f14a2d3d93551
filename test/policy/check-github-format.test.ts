// `airlock check --format github` and the GitHub Action that runs it: the exact workflow-command
// lines (escaped so a path or message cannot end the command or start another), and action.yml
// running exactly the command tested here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../../src/cli/main';
import { renderGithubCommands } from '../../src/cli/check-github-output';
import { FIXTURE_POLICY } from './fixture-change';
import { gitChange, type GitChange } from './git-change';

const DEPLOYMENT = 'k8s/staging/notification-service/deployment.yaml';
/** Paths a change may hold (git allows them): a comma and a colon; a newline too. */
const SECRET = 'config/secrets/db,main:5432.txt';
const ODD_YAML = 'k8s/staging/notification-service/odd\nname.yaml';

const probe = (failureThreshold: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: notification-service
  namespace: staging
spec:
  replicas: 4
  selector:
    matchLabels: { app: notification-service }
  template:
    metadata:
      labels: { app: notification-service }
    spec:
      containers:
        - name: notification-service
          image: registry.example.com/notification-service:1.4.2
          resources:
            requests: { cpu: 250m, memory: 512Mi }
            limits: { memory: 512Mi }
          readinessProbe:
            httpGet: { path: /ready, port: 8080 }
          livenessProbe:
            httpGet: { path: /health, port: 8080 }
            periodSeconds: 5
            failureThreshold: ${failureThreshold}
`;

let repo: GitChange;
beforeAll(() => {
  repo = gitChange(
    { [DEPLOYMENT]: probe(3) },
    { [DEPLOYMENT]: probe(1), [SECRET]: 'password=hunter2\n', [ODD_YAML]: 'a: [\n' },
  );
});
afterAll(() => repo.remove());

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n').split('\n'), err: err.join('\n') };
}

/** The command line of the tests above; the action's must be it, read from the workspace (`.`). */
const checkArgs = (repoDir = repo.dir) => [
  'check',
  '--repo',
  repoDir,
  '--base-ref',
  repo.base,
  '--head-ref',
  repo.head,
  '--policy',
  FIXTURE_POLICY,
];
const ID = /\(([a-z-]+-[0-9a-f]{10})\)/;

describe('airlock check --format github', () => {
  it('prints one workflow command per finding, escaped, then the decision; exit 1 when blocked', async () => {
    const r = await run([...checkArgs(), '--format', 'github']);
    assert.equal(r.code, 1, r.err);
    // The ids are digests of the findings (finding-identity.ts): read back, then every byte is pinned.
    const ids = r.out.slice(0, -1).map((l) => ID.exec(l)?.[1]);
    assert.deepEqual(
      ids.map((id) => id?.replace(/-[0-9a-f]{10}$/, '')),
      ['forbidden-path', 'liveness-probe', 'unparseable'],
    );
    assert.deepEqual(r.out, [
      `::error file=config/secrets/db%2Cmain%3A5432.txt,title=airlock forbidden-path (${ids[0]})::config/secrets/db,main:5432.txt (added) matches forbidden path **/secrets/** in checks.forbiddenPaths; the agent may not change it — a human must make this change%0Anot waivable: the change itself must be fixed`,
      `::error file=${DEPLOYMENT},line=25,title=airlock liveness-probe (${ids[1]})::livenessProbe of container "notification-service" in Deployment notification-service has failureThreshold 1, below the minimum 3: 1 failed check(s) (5 s of unreachable health endpoint) kill the pod, so one network blip restarts every replica at once (the restart storm of AI-DEPLOY-009). Set failureThreshold to at least 3.%0Awaivable: a waiver signed by 2 approvers may lift it after merge`,
      // The newline in the path would start a new line, and that line a workflow command of its own.
      `::error file=k8s/staging/notification-service/odd%0Aname.yaml,line=2,title=airlock unparseable (${ids[2]})::k8s/staging/notification-service/odd%0Aname.yaml does not parse (YAML: unexpected end of the stream within a flow collection); Kubernetes would reject it too, and Airlock cannot check what it cannot read%0Anot waivable: the change itself must be fixed`,
      'airlock: decision: BLOCK — 3 blocking finding(s), 0 warning(s); nothing will be deployed',
    ]);
  });

  it('a warning is ::warning, a finding without a file has no file property, and % is escaped', async () => {
    const text = renderGithubCommands(
      [
        {
          rule: 'files-per-change',
          level: 'block',
          id: 'files-per-change-0123456789',
          waivable: true,
          message: '100% of it',
        },
        {
          rule: 'vacuous-probe',
          level: 'warn',
          id: 'vacuous-probe-0123456789',
          file: 'a.yaml',
          line: 3,
          message: 'm:\r\nx',
        },
      ],
      3,
    );
    assert.deepEqual(text.split('\n'), [
      '::error title=airlock files-per-change (files-per-change-0123456789)::100%25 of it%0Awaivable: a waiver signed by 3 approvers may lift it after merge',
      '::warning file=a.yaml,line=3,title=airlock vacuous-probe (vacuous-probe-0123456789)::m:%0D%0Ax',
      'airlock: decision: BLOCK — 1 blocking finding(s), 1 warning(s); nothing will be deployed',
    ]);
  });

  it('--json stays an alias of --format json; the two disagreeing is a usage error', async () => {
    const args = checkArgs();
    const json = await run([...args, '--json']);
    const format = await run([...args, '--format', 'json']);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.out.join('\n')), JSON.parse(format.out.join('\n')));
    const both = await run([...args, '--json', '--format', 'github']);
    assert.equal(both.code, 2);
    assert.match(both.err, /format: --json is --format json; give one of them/);
    const bogus = await run([...args, '--format', 'xml']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /format: /);
  });
});

describe('action.yml', () => {
  const action = parse(readFileSync(resolve(__dirname, '../../action.yml'), 'utf8'));

  it('is a composite action whose check step runs `airlock check --format github` with the inputs wired in', async () => {
    assert.equal(action.runs.using, 'composite');
    assert.deepEqual(Object.keys(action.inputs), ['policy', 'base-ref', 'head-ref', 'node-version']);
    assert.equal(action.inputs.policy.required, true);
    assert.equal(action.inputs['base-ref'].default, '${{ github.event.pull_request.base.sha }}');
    assert.equal(action.inputs['head-ref'].default, '${{ github.event.pull_request.head.sha }}');
    const steps = action.runs.steps as { run?: string; env?: Record<string, string>; 'working-directory'?: string }[];
    const install = steps.find((s) => s.run?.startsWith('npm ci'));
    assert.equal(install?.['working-directory'], '${{ github.action_path }}');
    const check = steps.find((s) => s.run?.includes(' check '));
    assert.ok(check?.run && check.env, 'a step runs airlock check');
    // The command, word by word as bash splits it; "$VAR" is the step's env, which names an input.
    const words = [...check.run.trim().matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(words.slice(0, 2), ['node', '$GITHUB_ACTION_PATH/bin/airlock.js']);
    const inputs: Record<string, string> = {
      'base-ref': repo.base,
      'head-ref': repo.head,
      policy: FIXTURE_POLICY,
    };
    const argv = words.slice(2).map((w) => {
      if (!w.startsWith('$')) return w;
      const input = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(check.env![w.slice(1)] ?? '')?.[1];
      assert.ok(input && input in inputs, `${w} is an input`);
      return inputs[input];
    });
    assert.deepEqual(argv, [...checkArgs('.'), '--format', 'github']);
    // Run in the checkout, as the action's step runs in the workspace: the lines tested above.
    const cwd = process.cwd();
    process.chdir(repo.dir);
    try {
      const r = await run(argv);
      assert.equal(r.code, 1);
      assert.match(r.out[0], /^::error file=config\/secrets\/db%2Cmain%3A5432.txt,title=airlock forbidden-path/);
      assert.equal(
        r.out.at(-1),
        'airlock: decision: BLOCK — 3 blocking finding(s), 0 warning(s); nothing will be deployed',
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
