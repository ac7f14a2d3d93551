// POST /webhooks/github: a pull request merged into the default branch, or a push to it, of a
// configured repository starts the promotion of the one service it touches; a pull request opened,
// pushed to or reopened against it is checked before the merge (a check run, when configured).
// Verified with @octokit/webhooks before parsing; anything else is acknowledged (202) with why it
// was ignored.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { describeIssue } from '../workflows/payload-schemas';
import type { Change } from '../workflows/messages';
import { startPromotion } from '../client/promotion-client';
import { serviceOf } from './change-mapping';
import { pullRequestAuthors, pushAuthors } from './change-authors';
import { outOfScope, pullRequestEventSchema, pushEventSchema } from './github-events';
import { HttpError } from './http-errors';
import { POLICY_CHECK_NAME } from '../integrations/github/policy-check-run';
import type { ServerDeps } from './deps';

const ZERO_SHA = /^0{40}$/;
/** Pull request actions that put a new head up for review: each gets its own check run. */
const PRE_MERGE_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function parse<S extends z.ZodType>(schema: S, event: string, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, `${event} payload: ${describeIssue(r.error)}`);
  return r.data;
}

export function registerGithubWebhook(
  app: FastifyInstance,
  deps: ServerDeps,
  github: { webhookSecret: string; repositories: string[] },
  routeConfig: Record<string, unknown> = {},
): void {
  const secret = github.webhookSecret;
  // @octokit/webhooks is ESM-only with an import-only dependency: loaded with import(), once.
  const webhooks = import('@octokit/webhooks').then((m) => new m.Webhooks({ secret }));
  webhooks.catch(() => undefined); // surfaced by the first request, not as an unhandled rejection

  const ignore = (reply: FastifyReply, reason: string) => reply.code(202).send({ ignored: reason });

  app.post('/webhooks/github', { config: routeConfig }, async (req, reply) => {
    const raw = req.body;
    if (typeof raw !== 'string') throw new HttpError(415, 'content-type: must be application/json');
    const signature = req.headers['x-hub-signature-256'];
    if (typeof signature !== 'string' || !signature)
      throw new HttpError(401, 'x-hub-signature-256: missing; unsigned deliveries are refused');
    // Constant-time HMAC SHA-256 over the exact bytes received, before anything is parsed.
    if (!(await (await webhooks).verify(raw, signature).catch(() => false)))
      throw new HttpError(401, 'x-hub-signature-256: does not match the webhook secret');
    const event = req.headers['x-github-event'];
    if (typeof event !== 'string' || !event) throw new HttpError(400, 'x-github-event: missing');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'body: not valid JSON');
    }

    const policy = deps.loadPolicy();
    let change: Change;
    if (event === 'pull_request') {
      const e = parse(pullRequestEventSchema, event, body);
      const foreign = outOfScope(e.repository, e.repository.default_branch, github.repositories);
      if (foreign) return ignore(reply, foreign);
      if (PRE_MERGE_ACTIONS.has(e.action) && deps.checkPullRequest) {
        const target = outOfScope(e.repository, e.pull_request.base.ref, github.repositories, 'targets');
        if (target) return ignore(reply, target);
        const head = e.pull_request.head?.sha;
        if (!head)
          throw new HttpError(400, 'pull_request payload: pull_request.head.sha: missing on an open pull request');
        const pr = {
          repository: e.repository.full_name,
          number: e.number,
          title: e.pull_request.title,
          author: e.pull_request.user.login,
          baseSha: e.pull_request.base.sha,
          headSha: head,
        };
        const check = deps.checkPullRequest;
        // GitHub wants an answer within 10 s; the check (a fetch, the engine, the API calls) runs
        // after it. Its errors are logged: GitHub has nobody to tell once the delivery is answered.
        setImmediate(() => {
          check(policy, pr).catch((err: unknown) =>
            req.log.error(
              { err: err instanceof Error ? err.message : String(err), pullRequest: e.number, head },
              'pull request check failed',
            ),
          );
        });
        return reply.code(202).send({ checking: POLICY_CHECK_NAME, pullRequest: e.number, head });
      }
      if (e.action !== 'closed' || e.pull_request.merged !== true) {
        return reply.code(202).send({
          ignored: `pull_request ${e.action}${e.action === 'closed' ? ' without merge' : ''}: nothing to promote`,
        });
      }
      const sideBranch = outOfScope(e.repository, e.pull_request.base.ref, github.repositories);
      if (sideBranch) return ignore(reply, sideBranch);
      if (!e.pull_request.merge_commit_sha)
        throw new HttpError(
          400,
          'pull_request payload: pull_request.merge_commit_sha: missing on a merged pull request',
        );
      if (!deps.pullRequestFiles)
        throw new HttpError(503, 'pull_request: GITHUB_TOKEN is not configured, so the changed files cannot be read');
      if (!deps.pullRequestCommits)
        throw new HttpError(503, 'pull_request: GITHUB_TOKEN is not configured, so the commits cannot be read');
      const files = await deps.pullRequestFiles(e.repository.full_name, e.number);
      const authors = pullRequestAuthors(e, await deps.pullRequestCommits(e.repository.full_name, e.number));
      change = {
        service: serviceOf(policy, files),
        commit: e.pull_request.merge_commit_sha,
        baseCommit: e.pull_request.base.sha,
        author: e.pull_request.user.login,
        authors,
        version: e.pull_request.merge_commit_sha,
        repository: e.repository.full_name,
        title: e.pull_request.title,
        ...(e.pull_request.merged_at ? { mergedAt: e.pull_request.merged_at } : {}),
      };
    } else if (event === 'push') {
      const e = parse(pushEventSchema, event, body);
      // Pushes follow the same rules: a configured repository, its default branch only.
      const branch = e.ref.startsWith('refs/heads/') ? e.ref.slice('refs/heads/'.length) : e.ref;
      const scope = outOfScope(e.repository, branch, github.repositories, 'pushed to');
      if (scope) return ignore(reply, scope);
      if (e.deleted || ZERO_SHA.test(e.after))
        return ignore(reply, `push to ${e.ref}: deletes the branch, nothing to promote`);
      if (!/^[0-9a-f]{40}$/.test(e.after)) throw new HttpError(400, 'push payload: after: must be a 40-hex commit SHA');
      const files = [...new Set(e.commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed]))];
      change = {
        service: serviceOf(policy, files),
        commit: e.after,
        ...(ZERO_SHA.test(e.before) ? {} : { baseCommit: e.before }),
        author: e.head_commit?.author.username ?? e.pusher.name,
        authors: pushAuthors(e),
        version: e.after,
        repository: e.repository.full_name,
        ...(e.head_commit ? { title: e.head_commit.message.split('\n')[0], mergedAt: e.head_commit.timestamp } : {}),
      };
    } else {
      return reply.code(202).send({ ignored: `event ${event}: not a merge` });
    }

    // Idempotent: a redelivery or the push twin of a merged PR finds the promotion already started.
    const started = await startPromotion(deps.temporal, change, {
      taskQueue: deps.taskQueue,
      ...(deps.slotWorkflowId ? { slotWorkflowId: deps.slotWorkflowId } : {}),
    });
    return reply
      .code(started.started ? 201 : 200)
      .send({ workflowId: started.workflowId, started: started.started, service: change.service });
  });
}
