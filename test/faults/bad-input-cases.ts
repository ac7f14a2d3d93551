// Generators of bad input for test/faults/bad-input.test.ts. Every case is bad by construction
// (forged, replayed, wrong type, oversized, unknown, unauthorized): none may start or change anything.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import examples from '@octokit/webhooks-examples';
import { stringify } from 'yaml';
import type { DecisionBinding } from '../../src/approvals/decision-signature';
import { signedRequest } from '../../src/approvals/signed-request';
import { githubSignature } from '../fakes/github-fake';
import { slackHeaders } from '../fakes/slack-fake';
import { testSecretKey } from '../helpers/approver-keys';

/** Characters that break naive parsers, matchers and terminals. */
export const ODD = [
  '\u0000',
  '\uFEFF',
  '\u202E',
  '\u200D',
  '\u2028',
  '\ud800',
  '\udfff',
  'e\u0301',
  '\u{1D51E}',
  '../',
  '%00',
  '\\',
  '"',
  "'",
  '${x}',
  '{{x}}',
  '<script>',
  'İ',
  'ß',
];
export const oddString = fc
  .tuple(
    fc.array(fc.constantFrom(...ODD), { minLength: 1, maxLength: 4 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
  )
  .map(([odd, s]) => odd.join(s));
/** Values of the wrong JSON type for any field (never a string). */
export const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
/** Values of the wrong JSON type for a numeric field (never a number). */
export const notANumber = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  oddString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const notASha = fc.oneof(
  notAString,
  oddString,
  hex40.map((h) => h.toUpperCase().replace(/^[0-9]/, 'A')),
  hex40.map((h) => h.slice(1)),
  hex40.map((h) => `${h}0`),
);

export interface HttpCase {
  kind: string;
  url: string;
  payload: string;
  headers: Record<string, string>;
  /** Status(es) a correct server answers with. */
  status: number[];
  /** The error must name this field or reason. */
  names: RegExp;
}

// ---- GitHub --------------------------------------------------------------------------------------
type Examples = Array<{ name: string; examples: any[] }>;
const example = (name: string, pick: (x: any) => boolean) =>
  structuredClone((examples as Examples).find((e) => e.name === name)!.examples.find(pick));
export const GITHUB_SECRET = 'bad-input-webhook-secret-0123456789';
const NOTIFY_FILE = 'k8s/production/notification-service/deployment.yaml';
const PR_NUMBER = 4242;

/** A merge that WOULD start a promotion if it were believed. */
function mergedPr(commit: string): any {
  const pr = example('pull_request', (x) => x.action === 'closed');
  pr.number = PR_NUMBER;
  Object.assign(pr.pull_request, {
    number: PR_NUMBER,
    merged: true,
    merge_commit_sha: commit,
    merged_at: '2026-03-01T10:00:00Z',
  });
  pr.pull_request.base.sha = 'b'.repeat(40);
  pr.pull_request.merged_by = structuredClone(pr.pull_request.user);
  return pr;
}
function push(commit: string, files: string[]): any {
  const p = example('push', (x) => x.ref === 'refs/heads/master' && x.commits.length);
  Object.assign(p, { after: commit, before: 'c'.repeat(40) });
  Object.assign(p.commits[0], { id: commit, added: [], modified: files, removed: [] });
  return p;
}
/** Files the fake GitHub lists for every pull request: set per case through this map. */
export const prFiles = new Map<number, string[]>([[PR_NUMBER, [NOTIFY_FILE]]]);

function setPath(obj: any, path: string[], value: unknown): any {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]] = value;
  return obj;
}

const githubHeaders = (event: string, body: string, signature = githubSignature(GITHUB_SECRET, body)) => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  'x-hub-signature-256': signature,
});

const prFieldFaults: Array<[string[], fc.Arbitrary<unknown>]> = [
  [['number'], fc.oneof(notANumber, fc.integer({ max: 0 }), fc.double({ min: 0.1, max: 1e6, noInteger: true }))],
  [['pull_request', 'merge_commit_sha'], notASha],
  [['pull_request', 'user', 'login'], fc.oneof(notAString, fc.constant(''))],
  [['pull_request', 'base', 'sha'], notASha],
  [['pull_request', 'title'], notAString],
  [['pull_request', 'merged_at'], fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }))],
  [
    ['repository', 'full_name'],
    fc.oneof(notAString, oddString, fc.constantFrom('', 'no-slash', 'a/b/c', 'owner/ name', '/etc/passwd')),
  ],
  [['repository', 'default_branch'], fc.oneof(notAString, fc.constant(''))],
  [['pull_request', 'user'], notAString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))],
  // The author set: the merger and the commit count the commits read from the API must reach.
  [['pull_request', 'merged_by'], notAString.filter((v) => typeof v !== 'object' || Array.isArray(v))],
  [['pull_request', 'merged_by', 'login'], fc.oneof(notAString, fc.constant(''))],
  [
    ['pull_request', 'commits'],
    fc.oneof(notANumber, fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 1e6, noInteger: true })),
  ],
];
const pushFieldFaults: Array<[string[], fc.Arbitrary<unknown>]> = [
  [['after'], notASha.filter((v) => !(typeof v === 'string' && /^0{40}$/.test(v)))],
  [['commits'], notAString.filter((v) => !Array.isArray(v))],
  [['pusher', 'name'], notAString],
  [['repository', 'full_name'], fc.oneof(notAString, oddString)],
  [['head_commit', 'message'], notAString],
  // The author set: the authenticated pusher and each commit's claimed identities.
  [['sender', 'login'], fc.oneof(notAString, fc.constant(''))],
  [['commits', '0', 'author'], notAString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))],
  [['commits', '0', 'committer', 'username'], notAString],
];

const fieldMessage = (path: string[]) => new RegExp(path.join('\\.').replace(/[[\]]/g, '\\$&'));

/** fast-check prints counterexamples with this: kind, expectation and the start of the body, not 20 kB of JSON. */
export function described<T extends { kind: string; payload?: string; arg?: unknown; text?: string }>(c: T): T {
  const body = c.payload ?? c.text ?? JSON.stringify(c.arg) ?? 'undefined';
  return Object.assign(c, {
    [fc.toStringMethod]: () => `${c.kind}: ${body.slice(0, 240)}${body.length > 240 ? `… (${body.length} chars)` : ''}`,
  });
}

export function githubCases(commit: string): fc.Arbitrary<HttpCase> {
  const url = '/webhooks/github';
  /** A signed merge (pull request or push), changed by `mutate`, that must be ignored (202) for `names`. */
  const ignoredMerge = (what: string, names: RegExp, mutate: (p: any, event: string) => void) =>
    fc.constantFrom('pull_request', 'push').map((event): HttpCase => {
      const p = event === 'push' ? push(commit, [NOTIFY_FILE]) : mergedPr(commit);
      mutate(p, event);
      const body = JSON.stringify(p);
      return {
        kind: `github ${event} ${what}`,
        url,
        payload: body,
        headers: githubHeaders(event, body),
        status: [202],
        names,
      };
    });
  const validPr = JSON.stringify(mergedPr(commit));
  const forged = fc.oneof(
    fc.string({ minLength: 1, maxLength: 30 }).map((secret) => githubSignature(`${secret}-not-the-secret`, validPr)),
    fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256=${h}`),
    fc.constantFrom(
      'sha1=0000',
      'sha256=',
      'SHA256=' + githubSignature(GITHUB_SECRET, validPr).slice(7),
      'garbage',
      ' ',
    ),
    fc
      .nat({ max: validPr.length - 1 })
      .map((i) => githubSignature(GITHUB_SECRET, validPr.slice(0, i) + validPr.slice(i + 1))), // signed other bytes: tampered
  );
  return fc.oneof(
    forged.map((sig) => ({
      kind: 'github forged signature',
      url,
      payload: validPr,
      headers: githubHeaders('pull_request', validPr, sig),
      status: [401],
      names: /x-hub-signature-256/,
    })),
    fc.constant<HttpCase>({
      kind: 'github unsigned',
      url,
      payload: validPr,
      headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request' },
      status: [401],
      names: /x-hub-signature-256: missing/,
    }),
    fc.constantFrom(...prFieldFaults).chain(([path, bad]) =>
      bad.map((v) => {
        const body = JSON.stringify(setPath(mergedPr(commit), path, v));
        return {
          kind: `github pull_request ${path.join('.')}`,
          url,
          payload: body,
          headers: githubHeaders('pull_request', body),
          status: [400],
          names: fieldMessage(path),
        };
      }),
    ),
    fc.constantFrom(...pushFieldFaults).chain(([path, bad]) =>
      bad.map((v) => {
        const body = JSON.stringify(setPath(push(commit, [NOTIFY_FILE]), path, v));
        return {
          kind: `github push ${path.join('.')}`,
          url,
          payload: body,
          headers: githubHeaders('push', body),
          status: [400],
          names: fieldMessage(path),
        };
      }),
    ),
    // Unknown services: no declared service, or two at once.
    fc
      .oneof(
        // (k8s/production/notification-service alone would match k8s/*/notification-service/**: a real change.)
        fc.array(
          fc.oneof(
            oddString,
            fc.constantFrom(
              'k8s/production/ghost-service/deployment.yaml',
              'terraform/main.tf',
              'README.md',
              'k8s/notification-service/x.yaml',
            ),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        fc.constant<string[]>(['k8s/production/notification-service/a.yaml', 'k8s/staging/search-service/b.yaml']),
      )
      .map((files) => {
        const body = JSON.stringify(push(commit, files));
        return {
          kind: 'github unknown service',
          url,
          payload: body,
          headers: githubHeaders('push', body),
          status: [422],
          names: /service/,
        };
      }),
    // Not JSON / unicode oddities at the top level, correctly signed.
    fc
      .oneof(oddString, fc.constant('\uFEFF' + validPr), fc.constant(validPr.slice(0, -1)))
      .filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      })
      .map((body) => ({
        kind: 'github not JSON',
        url,
        payload: body,
        headers: githubHeaders('pull_request', body),
        status: [400, 401],
        names: /body: not valid JSON|x-hub-signature-256/,
      })),
    // Correctly signed merges that must start nothing: into a side branch, or of a repository the
    // server was not configured for (anything but Codertocat/Hello-World, in any case).
    fc
      .oneof(
        fc.stringMatching(/^[\w./-]{1,30}$/).filter((b) => b !== 'master'),
        fc.constantFrom('main', 'Master', 'master ', 'refs/heads/master', 'release/1.0'),
      )
      .chain((branch) =>
        ignoredMerge('side branch', /, not the default branch master$/, (p, event) => {
          if (event === 'push') p.ref = `refs/heads/${branch}`;
          else p.pull_request.base.ref = branch;
        }),
      ),
    fc
      .oneof(
        fc.stringMatching(/^[\w.-]{1,20}\/[\w.-]{1,20}$/).filter((r) => r.toLowerCase() !== 'codertocat/hello-world'),
        fc.constantFrom(
          'Codertocat/Hello-World-fork',
          'evil/Hello-World',
          'codertocat/hello-world.',
          'codertocat/hello_world',
        ),
      )
      .chain((repository) =>
        ignoredMerge(
          'unconfigured repository',
          /^repository .* is not configured \(AIRLOCK_REPOSITORIES\)$/,
          (p) => void (p.repository.full_name = repository),
        ),
      ),
    fc.constant<HttpCase>({
      kind: 'github missing event',
      url,
      payload: validPr,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature(GITHUB_SECRET, validPr) },
      status: [400],
      names: /x-github-event/,
    }),
    fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x').map((ct) => ({
      kind: 'github content-type',
      url,
      payload: validPr,
      headers: { ...githubHeaders('pull_request', validPr), 'content-type': ct },
      status: [415],
      names: /content-type/,
    })),
  );
}

// ---- Slack -------------------------------------------------------------------------------------
export const SLACK_SECRET = 'bad-input-slack-signing-secret';
export const SLACK_RESPOND = 'https://hooks.slack.com/actions/T0001/bad-input';
const MAPPED = ['U0ALICE01', 'U0BOB0001'];

function clickPayload(
  user: unknown,
  workflowId: unknown,
  actionId: unknown = 'airlock_approve',
  extra: Record<string, unknown> = {},
) {
  return {
    type: 'block_actions',
    user: { id: user, team_id: 'T0001' },
    team: { id: 'T0001', domain: 'bad-input' },
    response_url: SLACK_RESPOND,
    actions: [{ action_id: actionId, block_id: 'airlock_decision', value: workflowId, type: 'button' }],
    ...extra,
  };
}
const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/**
 * `liveWorkflowId`: the promotion awaiting approval. A click on it by a mapped user would be a real
 * approval, so it only ever comes from unmapped users; mapped users click promotions that do not exist.
 */
export function slackCases(
  liveWorkflowId: string,
  nowSec: () => number,
): fc.Arbitrary<HttpCase & { refusedLater?: boolean }> {
  const url = '/slack/interactions';
  const unmapped = fc.oneof(
    fc.stringMatching(/^U[A-Z0-9]{8}$/).filter((u) => !MAPPED.includes(u)),
    oddString,
  );
  const ghostId = hex40.map((h) => `promotion-notification-service-${h}`);
  const signed = (body: string, ts = nowSec()) => slackHeaders(SLACK_SECRET, body, ts);
  const validLooking = form(clickPayload('U0NOBODY1', liveWorkflowId));
  return fc.oneof(
    // Forged: another secret, tampered bytes, stale or future timestamps, missing headers.
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => ({
      kind: 'slack forged secret',
      url,
      payload: validLooking,
      headers: slackHeaders(`${s}-wrong`, validLooking, nowSec()),
      status: [401],
      names: /slack signature/,
    })),
    fc.integer({ min: 301, max: 10_000_000 }).chain((skew) =>
      fc.boolean().map((future) => ({
        kind: 'slack stale/future timestamp',
        url,
        payload: validLooking,
        headers: signed(validLooking, nowSec() + (future ? skew : -skew)),
        status: [401],
        names: future ? /x-slack-request-timestamp: more than 5 minutes in the future/ : /slack signature: .*stale/,
      })),
    ),
    fc.constantFrom('x-slack-signature', 'x-slack-request-timestamp').map((h) => {
      const headers = signed(validLooking);
      delete (headers as Record<string, string>)[h];
      return { kind: `slack missing ${h}`, url, payload: validLooking, headers, status: [401], names: new RegExp(h) };
    }),
    oddString.map((ts) => ({
      kind: 'slack odd timestamp',
      url,
      payload: validLooking,
      headers: { ...signed(validLooking), 'x-slack-request-timestamp': ts },
      status: [401],
      names: /x-slack-request-timestamp|slack signature/,
    })),
    // Signatures that are not exactly v0=<64 lower-case hex>: refused before any comparison.
    fc
      .constantFrom(
        (s: string) => `${s}=x`,
        (s: string) => `${s}=`,
        (s: string) => s.toUpperCase(),
        (s: string) => `${s}0`,
      )
      .map((variant) => {
        const headers = signed(validLooking);
        return {
          kind: 'slack malformed signature',
          url,
          payload: validLooking,
          headers: { ...headers, 'x-slack-signature': variant(headers['x-slack-signature']) },
          status: [401],
          names: /x-slack-signature: must be v0= followed by 64 lower-case hex digits/,
        };
      }),
    // Correctly signed by the app, but from another workspace that installed it.
    fc
      .stringMatching(/^T[A-Z0-9]{4,10}$/)
      .filter((t) => t !== 'T0001')
      .map((team) => {
        const body = form({ ...clickPayload('U0ALICE01', liveWorkflowId), team: { id: team } });
        return {
          kind: 'slack foreign workspace',
          url,
          payload: body,
          headers: signed(body),
          status: [403],
          names: /^payload\.team\.id: workspace T[A-Z0-9]+ is not the configured SLACK_TEAM_ID$/,
        };
      }),
    fc.nat({ max: validLooking.length - 1 }).map((i) => {
      const headers = signed(validLooking);
      const tampered = validLooking.slice(0, i) + (validLooking[i] === 'A' ? 'B' : 'A') + validLooking.slice(i + 1);
      return { kind: 'slack tampered body', url, payload: tampered, headers, status: [401], names: /slack signature/ };
    }),
    // Signed, but malformed: wrong types, unknown actions, workflow ids that are not ids.
    fc
      .oneof(
        notAString.map((v) => ({ p: clickPayload(v, liveWorkflowId), field: 'user.id' })),
        fc
          .oneof(
            notAString,
            oddString,
            fc.constantFrom('promotion-../../etc', `${liveWorkflowId}\n`, liveWorkflowId.toUpperCase(), ''),
          )
          .map((v) => ({ p: clickPayload('U0NOBODY1', v), field: 'actions.0.value' })),
        fc
          .oneof(notAString, oddString)
          .map((v) => ({ p: clickPayload('U0NOBODY1', liveWorkflowId, v), field: 'actions.0.action_id' })),
        fc
          .oneof(
            notAString,
            oddString,
            fc.constantFrom(
              'not a url',
              '//hooks.slack.com/x',
              '',
              'javascript:alert(1)',
              'file:///etc/passwd',
              'http://169.254.169.254/latest/meta-data/',
              'https://hooks.slack.com.evil.tld/actions/x',
              'http://hooks.slack.com/actions/x',
              'https://user:pw@hooks.slack.com/actions/x',
              'https://slack.com.evil.tld/',
            ),
          )
          .map((v) => ({
            p: { ...clickPayload('U0NOBODY1', liveWorkflowId), response_url: v },
            field: 'response_url',
          })),
        fc
          .constantFrom('view_submission', 'shortcut', '')
          .map((v) => ({ p: { ...clickPayload('U0NOBODY1', liveWorkflowId), type: v }, field: 'type' })),
        fc.constant({ p: { ...clickPayload('U0NOBODY1', liveWorkflowId), actions: [] }, field: 'actions' }),
      )
      .map(({ p, field }) => {
        const body = form(p);
        return {
          kind: `slack payload ${field}`,
          url,
          payload: body,
          headers: signed(body),
          status: [400],
          names: new RegExp(`payload\\.${field.replace(/\./g, '\\.')}`),
        };
      }),
    fc.oneof(oddString, fc.constant('%7Bnot-json'), fc.constant('')).map((raw) => {
      const body = `payload=${raw}`;
      return {
        kind: 'slack payload not JSON',
        url,
        payload: body,
        headers: signed(body),
        status: [400],
        names: /payload: missing or not JSON/,
      };
    }),
    // Verified, well formed, but from someone who is no approver, or about a promotion that does not exist.
    unmapped.chain((user) =>
      fc.constantFrom('airlock_approve', 'airlock_reject').map((action) => {
        const body = form(clickPayload(user, liveWorkflowId, action));
        return {
          kind: 'slack unknown approver',
          url,
          payload: body,
          headers: signed(body),
          status: [200],
          names: /^$/,
          refusedLater: true,
        };
      }),
    ),
    fc.tuple(fc.constantFrom(...MAPPED), ghostId).map(([user, id]) => {
      const body = form(clickPayload(user, id));
      return {
        kind: 'slack unknown promotion',
        url,
        payload: body,
        headers: signed(body),
        status: [200],
        names: /^$/,
        refusedLater: true,
      };
    }),
    // /airlock commands: unknown verbs, ids that are not ids, a reject without a reason.
    fc
      .oneof(
        fc
          .oneof(oddString, fc.constantFrom('approve', 'reject', 'deploy everything', ''))
          .map((text) => ({ text, answer: /usage: \/airlock|approve: "|reject: "/ })),
        fc
          .oneof(oddString, fc.constantFrom('promotion-x', '../x'))
          .map((id) => ({ text: `approve ${id}`, answer: /approve: ".*" must be a promotion workflow id|usage/ })),
        fc.constant({ text: `reject ${liveWorkflowId}`, answer: /reject: a reason is required/ }),
      )
      .map(({ text, answer }) => {
        const body = new URLSearchParams({
          command: '/airlock',
          text,
          user_id: 'U0ALICE01',
          response_url: SLACK_RESPOND,
          team_id: 'T0001',
        }).toString();
        return {
          kind: 'slack /airlock bad command',
          url: '/slack/commands',
          payload: body,
          headers: signed(body),
          status: [200],
          names: answer,
        };
      }),
    fc
      .oneof(
        notAString.map((v) => JSON.stringify(v)),
        fc.constantFrom('/deploy', ''),
      )
      .map((command) => {
        const body = new URLSearchParams({
          command,
          text: 'status x',
          user_id: 'U0ALICE01',
          response_url: SLACK_RESPOND,
          team_id: 'T0001',
        }).toString();
        return {
          kind: 'slack wrong command',
          url: '/slack/commands',
          payload: body,
          headers: signed(body),
          status: [400],
          names: /command/,
        };
      }),
  );
}

// ---- Alerts ------------------------------------------------------------------------------------
export const ALERT_TOKEN = 'bad-input-alert-token-0123456789';
export const DATADOG_TOKEN = 'bad-input-datadog-token-0123456789';
const alertmanager = (service: unknown, environment: unknown, o: Record<string, unknown> = {}) => ({
  version: '4',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'alertname' in o ? o.alertname : 'ErrorRateHigh', service, environment },
      annotations: { summary: 'error rate high' },
      startsAt: 'startsAt' in o ? o.startsAt : new Date().toISOString(),
    },
  ],
});
const datadog = (o: Record<string, unknown>) => ({
  source: 'datadog',
  service: 'notification-service',
  environment: 'production',
  title: '[Triggered] 5xx ratio',
  transition: 'Triggered',
  date: Date.now(),
  ...o,
});

export function alertCases(): fc.Arbitrary<HttpCase> {
  const url = '/webhooks/alerts';
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${ALERT_TOKEN}` };
  const ddAuth = { 'content-type': 'application/json', authorization: `Bearer ${DATADOG_TOKEN}` };
  return fc.oneof(
    fc
      .oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 40 }),
        fc.constant(`Bearer ${ALERT_TOKEN} `),
        fc.constant(`bearer ${ALERT_TOKEN}`),
        fc.constant(ALERT_TOKEN),
      )
      .map((a) => {
        const body = JSON.stringify(alertmanager('notification-service', 'production'));
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (a !== undefined) headers.authorization = a;
        return { kind: 'alert bad token', url, payload: body, headers, status: [401], names: /authorization/ };
      }),
    fc
      .oneof(
        fc.oneof(notAString, fc.constant('')).map((v) => ({ o: { alertname: v }, field: 'labels\\.alertname' })),
        fc
          .oneof(notAString, oddString, fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '', '1700000000'))
          .map((v) => ({ o: { startsAt: v }, field: 'startsAt' })),
      )
      .map(({ o, field }) => ({
        kind: `alertmanager ${field} invalid`,
        url,
        payload: JSON.stringify(alertmanager('notification-service', 'production', o)),
        headers: auth,
        status: [400],
        names: new RegExp(field),
      })),
    fc
      .oneof(
        fc.oneof(notANumber, fc.integer({ max: 0 })).map((v) => ({ o: { date: v }, field: 'date' })),
        fc
          .oneof(notAString, oddString, fc.constantFrom('prod', 'Production', ''))
          .map((v) => ({ o: { environment: v }, field: 'environment' })),
        fc.oneof(notAString, fc.constant('')).map((v) => ({ o: { title: v }, field: 'title' })),
        fc.oneof(notAString, fc.constant('')).map((v) => ({ o: { version: v }, field: 'version' })),
      )
      .map(({ o, field }) => ({
        kind: `datadog ${field} invalid`,
        url,
        payload: JSON.stringify(datadog(o)),
        headers: ddAuth,
        status: [400],
        names: new RegExp(field),
      })),
    fc
      .oneof(
        oddString,
        fc
          .stringMatching(/^[a-z][a-z0-9-]{1,20}$/)
          .filter((s) => !['notification-service', 'search-service', 'payment-service'].includes(s)),
      )
      .map((service) => ({
        kind: 'alert unknown service',
        url,
        payload: JSON.stringify(datadog({ service })),
        headers: ddAuth,
        status: [400, 422],
        names: /service/,
      })),
    // One token per source: each token speaks only for its own source.
    fc.boolean().map((datadogBody) => ({
      kind: 'alert token of the other source',
      url,
      payload: JSON.stringify(datadogBody ? datadog({}) : alertmanager('notification-service', 'production')),
      headers: datadogBody ? auth : ddAuth,
      status: [403],
      names: /^authorization: the (Alertmanager|Datadog) token may only send \1 payloads/,
    })),
    fc.oneof(oddString, fc.constantFrom('', '[]', '{}', 'null', '{"version":"5"}', '{"alerts":[]}')).map((body) => ({
      kind: 'alert malformed',
      url,
      payload: body,
      headers: auth,
      status: [400],
      names: /body: not valid JSON|payload/,
    })),
  );
}

/** Bodies over the server's limit, signed or not: refused before any parsing. */
export function hugeCases(bodyLimit: number): fc.Arbitrary<HttpCase> {
  return fc
    .tuple(
      fc.constantFrom('/webhooks/github', '/slack/interactions', '/webhooks/alerts'),
      fc.integer({ min: 1, max: bodyLimit }),
      fc.constantFrom('a', 'é', '\u{1F600}', '\u0000'),
    )
    .map(([url, extra, ch]) => {
      const payload = `{"x":"${ch.repeat(Math.ceil((bodyLimit + extra) / Buffer.byteLength(ch)))}"}`;
      const ct = url.startsWith('/slack') ? 'application/x-www-form-urlencoded' : 'application/json';
      return {
        kind: 'huge body',
        url,
        payload,
        headers: {
          'content-type': ct,
          'x-hub-signature-256': githubSignature(GITHUB_SECRET, payload),
          authorization: `Bearer ${ALERT_TOKEN}`,
        },
        status: [413],
        names: /body: larger than/,
      };
    });
}

// ---- Update and signal arguments -------------------------------------------------------------------
export interface DecisionCase {
  kind: string;
  name: 'approve' | 'reject' | 'abort' | 'errorRate' | 'alert';
  arg: unknown;
  /** The refusal names this. */
  names: RegExp;
}

const base64 = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64'));
const fakeSignature = fc.record({ at: fc.constant(new Date().toISOString()), nonce: base64(16), value: base64(64) });

/**
 * `now()`: workflow time for signing. `used`: a signature already accepted once (alice's approval).
 * `binding`: the promotion's commit and policy hash, which genuine signers sign for.
 * Allowed approvers: alice (already approved), bob, carol. Author: airlock-agent[bot].
 */
export function decisionCases(
  workflowId: string,
  now: () => number,
  used: unknown,
  binding: DecisionBinding,
): fc.Arbitrary<DecisionCase> {
  // Never an allowed approver, also not after the trim the workflow applies.
  const stranger = fc
    .oneof(
      oddString,
      fc.stringMatching(/^[a-z]{3,12}$/),
      fc.constant('airlock-agent[bot]'),
      fc.constant(' bob'.repeat(60)),
    )
    .filter((s) => !['alice', 'bob', 'carol'].includes(s.trim()));
  const sign = (
    action: 'approve' | 'reject' | 'abort',
    approver: string,
    o: Partial<{ workflowId: string; key: string; at: number; text: string; binding: DecisionBinding | null }> = {},
  ) =>
    signedRequest(action as 'approve', {
      ...(o.binding === null ? {} : { binding: o.binding ?? binding }),
      workflowId: o.workflowId ?? workflowId,
      approver,
      secretKey: testSecretKey(o.key ?? approver),
      now: o.at ?? now(),
      text: o.text ?? (action === 'approve' ? undefined : 'bad input'),
    });
  const who = (action: string) => (action === 'abort' ? 'by' : 'approver');
  const stopAction = fc.constantFrom('reject' as const, 'abort' as const);
  return fc.oneof(
    // Wrong types and shapes, for every decision.
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const),
        fc.oneof(notAString, oddString, fc.constant(undefined)),
      )
      .map(([name, arg]) => ({ kind: `${name} not an object`, name, arg, names: new RegExp(`^${name}: `) })),
    fc.tuple(fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const), notAString).map(([name, v]) => ({
      kind: `${name} approver wrong type`,
      name,
      arg: { [who(name)]: v, reason: 'x', comment: 'x' },
      names: new RegExp(`^${name}: (${who(name)}|reason|comment)`),
    })),
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const),
        fc.oneof(notAString, fc.string({ minLength: 2001, maxLength: 2100 })),
      )
      .map(([name, v]) => ({
        kind: `${name} text wrong`,
        name,
        arg: name === 'approve' ? { approver: 'bob', comment: v } : { approver: 'bob', reason: v },
        names: new RegExp(`^${name}: (comment|reason)`),
      })),
    stopAction.map((name) => ({
      kind: `${name} without reason`,
      name,
      arg: { [who(name)]: 'carol', reason: '   ' },
      names: new RegExp(`^${name}: reason`),
    })),
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const),
        fc.oneof(
          notAString,
          fc.record({ at: notAString, nonce: fc.string(), value: fc.string() }),
          fc.record({ at: fc.string(), nonce: fc.string({ maxLength: 7 }), value: fc.string() }),
        ),
      )
      .map(([name, sig]) => ({
        kind: `${name} malformed signature`,
        name,
        arg: { approver: 'bob', reason: 'x', signature: sig },
        names: new RegExp(`^${name}: signature`),
      })),
    // Unknown approvers, unicode oddities, and the author (the agent) itself — signed or not.
    fc
      .tuple(fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const), stranger, fc.boolean())
      .map(([name, id, withSig]) => ({
        kind: `${name} by unknown approver or author`,
        name,
        arg: { ...(withSig ? sign(name, 'bob') : {}), [who(name)]: id, reason: 'bad input' },
        names: new RegExp(`^${name}: .*(not in approvers\\.allowed|author|approver is missing|${who(name)})`),
      })),
    // Allowed approvers, but the identity does not hold: forged, someone else's key, another
    // promotion or action, stale or future, replayed, unsigned, claims Slack without the bridge.
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const),
        fc.constantFrom('bob', 'carol'),
        fakeSignature,
      )
      .map(([name, id, sig]) => ({
        kind: `${name} forged signature`,
        name,
        arg: { ...sign(name, id), signature: sig },
        names: new RegExp(`^${name}: signature does not verify`),
      })),
    fc
      .tuple(fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const), fc.constantFrom('bob', 'carol'))
      .map(([name, id]) => ({
        kind: `${name} signed with another approver's key`,
        name,
        arg: sign(name, id, { key: id === 'bob' ? 'carol' : 'bob' }),
        names: new RegExp(`^${name}: signature does not verify`),
      })),
    fc.tuple(fc.constantFrom('approve' as const, 'reject' as const), hex40).map(([name, h]) => ({
      kind: `${name} signed for another promotion`,
      name,
      arg: sign(name, 'bob', { workflowId: `promotion-notification-service-${h}` }),
      names: new RegExp(`^${name}: signature does not verify`),
    })),
    // Signed for this workflow id but another commit or policy (a later merge, a changed policy).
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const),
        fc.oneof(
          hex40.map((commit) => ({ ...binding, commit })),
          hex64.map((policyHash) => ({ ...binding, policyHash })),
        ),
      )
      .filter(([, b]) => b.commit !== binding.commit || b.policyHash !== binding.policyHash)
      .map(([name, other]) => ({
        kind: `${name} signed for another commit or policy`,
        name,
        arg: sign(name, 'bob', { binding: other }),
        names: new RegExp(`^${name}: signature does not verify .*different commit/policy than this promotion's`),
      })),
    // Signed the way v1 / v2 signers did: no commit, no policy hash.
    fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const).map((name) => ({
      kind: `${name} signed without commit and policy hash`,
      name,
      arg: sign(name, 'carol', { binding: null }),
      names: new RegExp(`^${name}: signature covers no commit or policy hash`),
    })),
    fc.constantFrom('reject' as const, 'abort' as const).map((name) => {
      const approve = sign('approve', 'bob');
      return {
        kind: `${name} carrying an approve signature`,
        name,
        arg:
          name === 'abort'
            ? { by: 'bob', reason: 'x', signature: approve.signature }
            : { approver: 'bob', reason: 'x', signature: approve.signature },
        names: new RegExp(`^${name}: signature does not verify`),
      };
    }),
    fc
      .tuple(
        fc.constantFrom('approve' as const, 'reject' as const, 'abort' as const),
        fc.integer({ min: 11, max: 60 * 24 * 365 }),
        fc.boolean(),
      )
      .map(([name, minutes, future]) => ({
        kind: `${name} stale or future signature`,
        name,
        arg: sign(name, 'carol', { at: now() + (future ? 1 : -1) * minutes * 60_000 }),
        names: new RegExp(`^${name}: signature\\.at .* (old|in the future)`),
      })),
    fc.constant({
      kind: 'approve replayed (alice already approved, same signature)',
      name: 'approve' as const,
      arg: used,
      names: /^approve: .*(already approved|already used)/,
    }),
    fc.constant(0).map(() => ({
      kind: 'approve replayed by alice with a fresh signature',
      name: 'approve' as const,
      arg: sign('approve', 'alice'),
      names: /^approve: "alice" has already approved/,
    })),
    fc.constantFrom('bob', 'carol').map((id) => ({
      kind: 'approve unsigned',
      name: 'approve' as const,
      arg: { approver: id, comment: 'lgtm' },
      names: /^approve: unsigned/,
    })),
    fc
      .tuple(fc.constantFrom('approve' as const, 'reject' as const), fc.option(fakeSignature, { nil: undefined }))
      .map(([name, sig]) => ({
        kind: `${name} claims Slack without the bridge`,
        name,
        arg: { approver: 'bob', reason: 'x', via: 'slack', slackUser: 'U0BOB0001', ...(sig ? { signature: sig } : {}) },
        names: new RegExp(`^${name}: .*(bridge|signature does not verify)`),
      })),
    // Error-rate samples with bad payloads (signal only).
    fc
      .oneof(
        fc.constant({
          environment: 'production',
          ...{ errors: 2000, requests: 1000, baselineErrors: 10, baselineRequests: 1000 },
          observedAt: new Date().toISOString(),
        }),
        fc.record({
          environment: fc.oneof(oddString, notAString),
          ...COUNTS,
          observedAt: fc.constant(new Date().toISOString()),
        }),
        fc.record({
          environment: fc.constant('production'),
          ...COUNTS,
          errors: notANumber,
          observedAt: fc.constant(new Date().toISOString()),
        }),
        fc.record({
          environment: fc.constant('production'),
          ...COUNTS,
          requests: fc.double({ min: 0.1, max: 10, noInteger: true }),
          observedAt: fc.constant(new Date().toISOString()),
        }),
        fc.record({
          environment: fc.constant('production'),
          ...COUNTS,
          observedAt: fc.oneof(oddString, notAString, fc.constant('yesterday')),
        }),
        fc.record({
          environment: fc.constant('production'),
          ...COUNTS,
          observedAt: fc.constant(new Date().toISOString()),
          extra: fc.string(),
        }),
        fc.oneof(notAString, oddString),
      )
      .map((arg) => ({ kind: 'errorRate bad sample', name: 'errorRate' as const, arg, names: /./ })),
    // The old rate-only shape, valid as it was (a breach by the old rule among them): refused from
    // patch counts-only on, naming the field and saying to send counts.
    fc
      .record(
        {
          environment: fc.constantFrom('staging', 'production'),
          rate: fc.double({ min: 0, max: 1, noNaN: true }),
          baseline: fc.double({ min: 0, max: 1, noNaN: true }),
          requestCount: fc.nat(1_000_000),
          observedAt: fc.constant(new Date().toISOString()),
        },
        { requiredKeys: ['environment', 'observedAt'] },
      )
      .filter((arg) => 'rate' in arg || 'baseline' in arg || 'requestCount' in arg)
      .map((arg) => ({
        kind: 'errorRate rate-only sample',
        name: 'errorRate' as const,
        arg,
        names:
          /^(rate|baseline|requestCount): rate-only samples \(.+\) are no longer accepted: send counts instead: errors and requests .* baselineErrors and baselineRequests/,
      })),
    // A raw `temporal workflow signal … alert` skips the webhook: the workflow checks it again.
    fc
      .oneof(
        fc.constant({ alerts: [] }).map((arg) => ({ arg, names: /alerts: must hold at least one firing alert/ })),
        fc
          .oneof(notAString, oddString, fc.constant('yesterday'))
          .map((startsAt) => ({ arg: { alerts: [firing({ startsAt })] }, names: /alerts\.0\.startsAt/ })),
        fc
          .oneof(notAString, fc.constantFrom('', 'qa', 'Production'))
          .map((environment) => ({ arg: { alerts: [firing({ environment })] }, names: /alerts\.0\.environment/ })),
        fc.constant(' ').map((version) => ({ arg: { alerts: [firing({ version })] }, names: /alerts\.0\.version/ })),
        fc.string().map((extra) => ({ arg: { alerts: [firing({ extra })] }, names: /alerts\.0/ })),
        fc.oneof(notAString, oddString).map((arg) => ({ arg, names: /./ })),
      )
      .map(({ arg, names }) => ({ kind: 'alert bad signal', name: 'alert' as const, arg, names })),
  );
}

/** Valid counts, for cases that break one other field. */
const COUNTS = {
  errors: fc.constant(10),
  requests: fc.constant(1000),
  baselineErrors: fc.constant(100),
  baselineRequests: fc.constant(10_000),
};

const firing = (o: Record<string, unknown>) => ({
  environment: 'production',
  name: 'ErrorRateHigh',
  source: 'alertmanager',
  startsAt: new Date().toISOString(),
  ...o,
});

// ---- Policy files ------------------------------------------------------------------------------
export interface PolicyCase {
  kind: string;
  text: string;
  /** A problem must start with (or mention) this. */
  names: RegExp;
}

const numberFields: Array<[string[], fc.Arbitrary<unknown>]> = [
  [
    ['approvers', 'required'],
    fc.oneof(notANumber, fc.integer({ max: 1 }), fc.double({ min: 2.1, max: 9.9, noInteger: true })),
  ],
  [
    ['approvers', 'signatureWindowMinutes'],
    fc.oneof(notANumber, fc.integer({ max: 0 }), fc.integer({ min: 61, max: 1e6 })),
  ],
  [['bake', 'minHours'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['canary', 'percent'], fc.oneof(notANumber, fc.integer({ max: 0 }), fc.integer({ min: 51, max: 1000 }))],
  [['canary', 'minMinutes'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['production', 'watchMinutes'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['approval', 'timeoutHours'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['rollback', 'thresholdPercent'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [
    ['rollback', 'minRequestCount'],
    fc.oneof(notANumber, fc.integer({ max: 0 }), fc.double({ min: 0.1, max: 99.9, noInteger: true })),
  ],
  [['rollback', 'baselineFloor'], fc.oneof(notANumber, fc.integer({ min: 2, max: 100 }), fc.integer({ max: -1 }))],
  [['monitoring', 'maxSilenceMinutes'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['blastRadius', 'maxServicesInFlight'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  [['blastRadius', 'maxStartsPerHour'], fc.oneof(notANumber, fc.integer({ max: 0 }))],
  // At most required − 1 (here 1) approvals on the Slack bridge key.
  [
    ['approvers', 'maxBridgeApprovals'],
    fc.oneof(
      notANumber,
      fc.integer({ max: -1 }),
      fc.integer({ min: 2, max: 1e6 }),
      fc.double({ min: 0.1, max: 0.9, noInteger: true }),
    ),
  ],
  [['version'], fc.oneof(notANumber, fc.integer({ min: 2 }), fc.constant(0))],
];
const stringFields: Array<[string[], fc.Arbitrary<unknown>]> = [
  [['approvers', 'allowed', '0', 'id'], fc.oneof(notAString, fc.constantFrom('', '   '))],
  [['approvers', 'allowed', '1', 'slack'], fc.oneof(notAString, oddString, fc.constantFrom('alice', 'u0bob', 'U1'))],
  [['approvers', 'allowed', '2', 'publicKey'], fc.oneof(notAString, oddString, base64(31), base64(33))],
  [
    ['approvers', 'allowed', '0', 'github'],
    fc.oneof(notAString, oddString, fc.constantFrom('', '-alice', 'a'.repeat(40), 'al ice', 'alice_b', 'bot[bot]')),
  ],
  [
    ['services', '0', 'name'],
    fc.oneof(notAString, oddString, fc.constantFrom('', 'Payment', '-x', 'a'.repeat(64), 'pay ment')),
  ],
  [
    ['services', '1', 'paths'],
    fc.oneof(
      fc.constant([]),
      notAString.filter((v) => !Array.isArray(v)),
      fc.constant(['']),
    ),
  ],
  [['authors', 'agents'], fc.oneof(oddString, fc.integer(), fc.constant([''] as unknown))],
  [['bake', 'allowShortBake'], fc.oneof(fc.integer(), oddString, fc.constantFrom('yes', 'true'))],
  [['approvers', 'requireSignature'], fc.oneof(fc.integer(), oddString, fc.constantFrom('no', 'false'))],
  [
    ['approvers', 'revokedKeys'],
    fc.oneof(
      fc.integer(),
      oddString,
      base64(31).map((k) => [k]),
      fc.constant(['not-a-key']),
    ),
  ],
];

export function policyCases(validText: string, parse: (t: string) => any): fc.Arbitrary<PolicyCase> {
  const doc = () => parse(validText);
  const pathRe = (path: string[]) => new RegExp(`^${path.join('\\.')}`);
  return fc.oneof(
    fc.constantFrom(...numberFields, ...stringFields).chain(([path, bad]) =>
      bad.map((v) => ({
        kind: `policy ${path.join('.')} wrong`,
        text: stringify(setPath(doc(), path, v)),
        names: pathRe(path),
      })),
    ),
    // Unknown keys anywhere: strict objects refuse them, naming where.
    fc
      .tuple(
        fc.constantFrom(
          [],
          ['approvers'],
          ['bake'],
          ['canary'],
          ['rollback'],
          ['blastRadius'],
          ['approvers', 'allowed', '0'],
          ['services', '0'],
        ),
        fc.stringMatching(/^[a-zA-Z_]{1,12}$/),
      )
      .map(([path, key]) => {
        const d = doc();
        const target = path.reduce((o: any, k) => o[k], d);
        if (key in target) key = `${key}_x`;
        target[key] = 1;
        return {
          kind: 'policy unknown key',
          text: stringify(d),
          names: new RegExp(path.length ? `^${path.join('\\.')}` : '^\\(root\\)'),
        };
      }),
    // Consistency: the author as approver, duplicate approvers or services, a short bake without saying so.
    fc.constant({
      kind: 'policy agent as approver',
      text: validText.replace('{ id: carol,', '{ id: "airlock-agent[bot]",'),
      names: /^approvers\.allowed\.2\.id: .*agent identity/,
    }),
    fc.constant({
      kind: 'policy duplicate approver',
      text: validText.replace('{ id: carol,', '{ id: bob,'),
      names: /^approvers\.allowed\.2\.id: "bob" is listed twice/,
    }),
    fc.constant({
      kind: 'policy GitHub login shared',
      text: validText
        .replace('{ id: carol,', '{ id: carol, github: BOB-GH,')
        .replace('{ id: bob,', '{ id: bob, github: bob-gh,'),
      names: /^approvers\.allowed\.2\.github: is also the GitHub login of "bob"/,
    }),
    fc.constant({
      kind: 'policy GitHub login of an agent',
      text: validText
        .replace('agents: ["airlock-agent[bot]"]', 'agents: ["airlock-agent[bot]", deploy-bot]')
        .replace('{ id: carol,', '{ id: carol, github: Deploy-Bot,'),
      names: /^approvers\.allowed\.2\.github: .*agent identity/,
    }),
    fc.constant({
      kind: 'policy short bake unannounced',
      text: validText.replace(', allowShortBake: true', ''),
      names: /^bake\.minHours/,
    }),
    fc.constant({
      kind: 'policy duplicate key',
      text: validText.replace('version: 1', 'version: 1\nversion: 1'),
      names: /^YAML: /,
    }),
    // Not a policy at all: random text, unicode oddities, truncations, YAML that is not a mapping.
    fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        oddString,
        fc.nat({ max: validText.length - 1 }).map((n) => validText.slice(0, n)),
        fc.constantFrom('[]', 'null', '~', '- a', '!!binary aGk=', '&a [*a]', '*x', '{a: 1', '\t- x'),
      )
      .map((text) => ({
        kind: 'policy garbage',
        text,
        names: /./,
      })),
    // Huge documents: a very long identity and thousands of unknown keys.
    fc.integer({ min: 20_000, max: 60_000 }).map((n) => ({
      kind: 'policy huge value',
      text: validText.replace('{ id: carol,', `{ id: carol, note: "${'x'.repeat(n)}",`),
      names: /^approvers\.allowed\.2/,
    })),
  );
}

export const hmac = (secret: string, s: string) => createHmac('sha256', secret).update(s).digest('hex');
