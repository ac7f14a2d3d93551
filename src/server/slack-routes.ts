// POST /slack/interactions (Block Kit buttons) and POST /slack/commands (/airlock). Verified first;
// acknowledged at once (Slack waits 3 s), then the decision runs and the result goes to response_url.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { renderView } from '../client/render-status';
import { describeIssue } from '../workflows/payload-schemas';
import { readPromotion } from '../client/promotion-view';
import { resolveWorkflowId } from '../client/promotion-target';
import { APPROVE_ACTION, REJECT_ACTION } from '../integrations/slack/approval-blocks';
import { WAIVE_ACTION } from '../integrations/slack/waiver-blocks';
import type { ServerDeps } from './deps';
import { HttpError } from './http-errors';
import { runSlackDecision, type SlackDecision } from './slack-decision';
import { createSlackVerifier } from './slack-verify';
import { escapeMrkdwn } from '../integrations/slack/mrkdwn';

const workflowId = z.string().regex(/^promotion-[a-z0-9-]+-[0-9a-f]{40}$/, 'must be a promotion workflow id');
/** A button's value: the workflow id, and the digest of the production change the message showed. */
const buttonValue = z
  .string()
  .regex(/^promotion-[a-z0-9-]+-[0-9a-f]{40}( sha256:[0-9a-f]{64})?$/, 'must be a promotion workflow id')
  .transform((v) => {
    const [id, digest] = v.split(' ');
    return { workflowId: id, ...(digest ? { changeDigest: digest } : {}) };
  });
/** A Waive button's value: the workflow id and the finding ids the message showed. */
const waiveButtonValue = z
  .string()
  .max(2000)
  .regex(
    /^promotion-[a-z0-9-]+-[0-9a-f]{40} [a-z0-9-]+(,[a-z0-9-]+)*$/,
    'must be a promotion workflow id and finding ids',
  )
  .transform((v) => {
    const [id, ids] = v.split(' ');
    return { workflowId: id, findings: ids.split(',') };
  });
const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: z.string().min(1) }),
  user: z.object({ id: z.string().min(1) }),
  response_url: z.url(),
  actions: z
    .array(
      z.discriminatedUnion('action_id', [
        z.object({ action_id: z.enum([APPROVE_ACTION, REJECT_ACTION]), value: buttonValue }),
        z.object({ action_id: z.literal(WAIVE_ACTION), value: waiveButtonValue }),
      ]),
    )
    .length(1, 'must hold exactly one action'),
});
const commandSchema = z.object({
  command: z.literal('/airlock'),
  team_id: z.string().min(1),
  text: z.string().max(2000),
  user_id: z.string().min(1),
  response_url: z.url(),
});

export function registerSlackRoutes(
  app: FastifyInstance,
  deps: ServerDeps,
  secrets: { signingSecret: string; teamId: string; bridgeSecretKey: Uint8Array },
  routeConfig: Record<string, unknown> = {},
): void {
  const now = deps.now ?? Date.now;
  const verify = createSlackVerifier(secrets.signingSecret, now);
  const form = (raw: unknown, headers: Record<string, string | string[] | undefined>) => {
    if (typeof raw !== 'string') throw new HttpError(415, 'content-type: must be application/x-www-form-urlencoded');
    verify(raw, headers);
    return new URLSearchParams(raw);
  };
  /**
   * After the signature, before anything else is read: the request comes from the configured
   * workspace (one signing secret is per app, and an app can be installed in several), and its
   * response_url is one the poster sends to.
   */
  const checkOrigin = (prefix: 'payload.' | '', teamField: string, team: unknown, responseUrl: unknown) => {
    if (typeof team === 'string' && team !== secrets.teamId) {
      app.log.warn({ team, expected: secrets.teamId }, 'slack: request from another workspace refused');
      throw new HttpError(403, `${prefix}${teamField}: workspace ${team} is not the configured SLACK_TEAM_ID`);
    }
    const why = typeof responseUrl === 'string' ? deps.slack?.refuses(responseUrl) : undefined;
    if (why) throw new HttpError(400, `${prefix}response_url: ${why}`);
  };
  /** Runs after the acknowledgement; failures go to the log, never to a hanging Slack client. */
  const later = (responseUrl: string, d: SlackDecision) => {
    const run = async () => {
      const message = await runSlackDecision(deps.temporal, deps.loadPolicy(), secrets.bridgeSecretKey, d, now());
      await deps.slack?.respond(responseUrl, message);
    };
    run().catch((err) =>
      app.log.error({ err: String(err), workflowId: d.workflowId }, 'slack decision follow-up failed'),
    );
  };

  app.post('/slack/interactions', { config: routeConfig }, async (req, reply) => {
    const params = form(req.body, req.headers);
    let payload: unknown;
    try {
      payload = JSON.parse(params.get('payload') ?? '');
    } catch {
      throw new HttpError(400, 'payload: missing or not JSON');
    }
    const p = payload as { team?: { id?: unknown }; response_url?: unknown } | null;
    checkOrigin('payload.', 'team.id', p?.team?.id, p?.response_url);
    const r = blockActionsSchema.safeParse(payload);
    if (!r.success) throw new HttpError(400, `payload.${describeIssue(r.error)}`);
    const a = r.data.actions[0];
    later(r.data.response_url, {
      action: a.action_id === APPROVE_ACTION ? 'approve' : a.action_id === WAIVE_ACTION ? 'waive' : 'reject',
      ...a.value,
      slackUser: r.data.user.id,
    });
    return reply.code(200).send();
  });

  app.post('/slack/commands', { config: routeConfig }, async (req, reply) => {
    const params = form(req.body, req.headers);
    checkOrigin('', 'team_id', params.get('team_id') ?? undefined, params.get('response_url') ?? undefined);
    const r = commandSchema.safeParse(Object.fromEntries(params));
    if (!r.success) throw new HttpError(400, describeIssue(r.error));
    const [verb, target, ...rest] = r.data.text.trim().split(/\s+/);
    const usage =
      'usage: /airlock status <service|workflow-id> · /airlock approve <workflow-id> · /airlock reject <workflow-id> <reason>';
    if (verb === 'status' && target) {
      try {
        // Slack waits 3 s for this answer: the view gives a silent worker less than that.
        const id = await resolveWorkflowId(deps.temporal, target, { ended: 'latest' });
        const view = await readPromotion(deps.temporal, id, { queryTimeoutMs: 2_000 });
        return reply.send({ response_type: 'ephemeral', text: '```' + escapeMrkdwn(renderView(view)) + '```' });
      } catch (err) {
        return reply.send({ response_type: 'ephemeral', text: `status: ${escapeMrkdwn((err as Error).message)}` });
      }
    }
    if ((verb === 'approve' || verb === 'reject') && target) {
      const id = workflowId.safeParse(target);
      if (!id.success)
        return reply.send({
          response_type: 'ephemeral',
          text: `${verb}: "${escapeMrkdwn(target)}" ${id.error.issues[0].message}`,
        });
      if (verb === 'reject' && !rest.length)
        return reply.send({ response_type: 'ephemeral', text: 'reject: a reason is required' });
      later(r.data.response_url, {
        action: verb,
        workflowId: target,
        slackUser: r.data.user_id,
        ...(rest.length ? { reason: rest.join(' ') } : {}),
      });
      return reply.send({ response_type: 'ephemeral', text: `${verb} ${target}: sent, the result follows` });
    }
    return reply.send({ response_type: 'ephemeral', text: usage });
  });
}
