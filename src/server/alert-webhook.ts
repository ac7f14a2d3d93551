// POST /webhooks/alerts: Prometheus Alertmanager (webhook_config) and Datadog monitor webhooks
// become errorRate signals for the promotion of that service in flight. Shared bearer token.
// One request sends at most ONE signal per promotion (a 1 MiB Alertmanager group holds ~5,800
// alerts, and a run's history is capped at 51,200 events): the request's most severe sample for it.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { errorRateSampleSchema, describeIssue } from '../workflows/payload-schemas';
import { assessSample, type BreachRule, type Verdict } from '../workflows/breach-rule';
import { errorRateSignal, PROMOTION_STARTED_MEMO, type ErrorRateSample } from '../workflows/messages';
import type { ServerDeps } from './deps';
import { HttpError } from './http-errors';

// A number, or a numeric string (Alertmanager annotations are strings). Never blank, null, a boolean
// or an array: z.coerce alone reads those as 0 or 1, and a missing error rate must not become a healthy one.
const numeric = z.union([z.number(), z.string().trim().min(1, 'is blank')]);
const num = numeric.pipe(z.coerce.number<string | number>().finite());
/** Alertmanager: the values arrive as annotations set by the alert rule's templates. */
const alertmanagerSchema = z.object({
  version: z.literal('4'),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.object({ service: z.string().min(1), environment: z.enum(['staging', 'production']) }).passthrough(),
        annotations: z.object({ error_rate: num, baseline: num, request_count: num }).passthrough(),
        startsAt: z.string(),
      }),
    )
    .min(1),
});
/** Datadog: the webhook's custom payload template (docs/server.md gives it). */
const datadogSchema = z.object({
  source: z.literal('datadog'),
  service: z.string().min(1),
  environment: z.enum(['staging', 'production']),
  error_rate: num,
  baseline: num,
  request_count: num,
  date: numeric.pipe(z.coerce.number<string | number>().int().positive()),
});

const sha = (s: string) => createHash('sha256').update(s).digest();

/** One alert of a request, validated: `index` is its place in the payload's `alerts` (0 for Datadog). */
interface ParsedAlert {
  index: number;
  service: string;
  firing: boolean;
  sample: ErrorRateSample;
}

function alertsOf(body: unknown): ParsedAlert[] {
  const isDatadog = (body as { source?: unknown })?.source === 'datadog';
  const r = isDatadog ? datadogSchema.safeParse(body) : alertmanagerSchema.safeParse(body);
  if (!r.success)
    throw new HttpError(400, `${isDatadog ? 'datadog' : 'alertmanager'} payload: ${describeIssue(r.error)}`);
  const raw = isDatadog
    ? [
        (({ service, environment, error_rate, baseline, request_count, date }) => ({
          service,
          firing: true,
          sample: {
            environment,
            rate: error_rate,
            baseline,
            requestCount: request_count,
            observedAt: new Date(date).toISOString(),
            source: 'datadog',
          },
        }))(r.data as z.infer<typeof datadogSchema>),
      ]
    : (r.data as z.infer<typeof alertmanagerSchema>).alerts.map((a) => ({
        service: a.labels.service,
        firing: a.status === 'firing',
        sample: {
          environment: a.labels.environment,
          rate: a.annotations.error_rate,
          baseline: a.annotations.baseline,
          requestCount: a.annotations.request_count,
          observedAt: a.startsAt,
          source: `alertmanager:${a.status}`,
        },
      }));
  // Every alert is checked, resolved ones too, before anything is signalled: bad input is refused whole.
  return raw.map(({ service, firing, sample }, index) => {
    // The same schema the workflow applies: refused here with the field, before any signal.
    const s = errorRateSampleSchema.safeParse(sample);
    if (!s.success)
      throw new HttpError(
        400,
        `sample for ${service}${isDatadog ? '' : ` (alerts.${index})`}: ${describeIssue(s.error)}`,
      );
    return { index, service, firing, sample: s.data as ErrorRateSample };
  });
}

const VERDICT_RANK: Record<Verdict, number> = { breach: 2, healthy: 1, inconclusive: 0 };

/**
 * Index of the most severe sample: what the one signal of a request carries. By the breach rule the
 * workflow applies (the server's policy, re-read per request): a breach before a healthy sample
 * before an inconclusive one, then the highest rise, rate, request count, newest. A sample observed
 * before `notBefore` (the promotion's start) describes the old version, so the workflow would count
 * it stale: it is sent only when nothing newer came. Ties keep the payload's order.
 */
export function mostSevere(samples: ErrorRateSample[], rule: BreachRule, notBefore = -Infinity): number {
  const key = (s: ErrorRateSample) => {
    const observed = Date.parse(s.observedAt);
    const a = assessSample(s, rule);
    return [observed >= notBefore ? 1 : 0, VERDICT_RANK[a.verdict], a.risePercent, s.rate, s.requestCount, observed];
  };
  let best = 0;
  let bestKey = key(samples[0]);
  for (let i = 1; i < samples.length; i++) {
    const k = key(samples[i]);
    const d = k.findIndex((v, j) => v !== bestKey[j]);
    if (d >= 0 && k[d] > bestKey[d]) [best, bestKey] = [i, k];
  }
  return best;
}

type IgnoredReason = 'resolved' | 'unknown service' | 'no promotion in flight';
const IGNORED_ORDER: IgnoredReason[] = ['resolved', 'unknown service', 'no promotion in flight'];

export function registerAlertWebhook(app: FastifyInstance, deps: ServerDeps, token: string): void {
  const expected = sha(`Bearer ${token}`);
  app.post('/webhooks/alerts', async (req, reply) => {
    const auth = req.headers.authorization;
    // Hashing first gives equal lengths, so the comparison is constant time whatever was sent.
    if (typeof auth !== 'string' || !timingSafeEqual(sha(auth), expected))
      throw new HttpError(401, 'authorization: missing or wrong bearer token');
    if (typeof req.body !== 'string') throw new HttpError(415, 'content-type: must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      throw new HttpError(400, 'body: not valid JSON');
    }
    const alerts = alertsOf(body);
    const policy = deps.loadPolicy();
    const declared = new Set(policy.services.map((s) => s.name));
    // A request naming only undeclared services is a misrouted alert: refused loudly. In a mixed
    // request the undeclared ones are ignored, so a typo in one label cannot hide a breach of another.
    if (!alerts.some((a) => declared.has(a.service)))
      throw new HttpError(422, `service "${alerts[0].service}" is not declared in policy.services`);

    const ignored = new Map<string, { reason: IgnoredReason; service: string; alerts: number[] }>();
    const ignore = (reason: IgnoredReason, service: string, indexes: number[]) => {
      const k = `${reason}\u0000${service}`;
      const entry = ignored.get(k) ?? { reason, service, alerts: [] };
      entry.alerts.push(...indexes);
      ignored.set(k, entry);
    };
    const firing = new Map<string, ParsedAlert[]>();
    for (const a of alerts) {
      if (!declared.has(a.service)) ignore('unknown service', a.service, [a.index]);
      else if (!a.firing) ignore('resolved', a.service, [a.index]);
      else if (firing.has(a.service)) firing.get(a.service)!.push(a);
      else firing.set(a.service, [a]);
    }

    const rule = policy.rollback;
    const signals: Array<{ workflowId: string; service: string; alerts: number; mostSevere: number }> = [];
    for (const [service, group] of firing) {
      const samples = group.map((a) => a.sample);
      let reached = 0;
      // Service names are declared in the policy (checked above), so they are safe in the query.
      const query = `WorkflowType = 'promotion' AND AirlockService = '${service}' AND ExecutionStatus = 'Running'`;
      for await (const wf of deps.temporal.workflow.list({ query })) {
        // A run that continued as new is listed with its own start; the promotion began earlier.
        const startedAt = Date.parse(String(wf.memo?.[PROMOTION_STARTED_MEMO] ?? ''));
        const chosen = group[mostSevere(samples, rule, Number.isNaN(startedAt) ? wf.startTime.getTime() : startedAt)];
        const sample =
          group.length > 1
            ? { ...chosen.sample, source: `${chosen.sample.source}, most severe of ${group.length}` }
            : chosen.sample;
        try {
          await deps.temporal.workflow.getHandle(wf.workflowId).signal(errorRateSignal, sample);
        } catch (err) {
          // Ended since visibility listed it: nothing in flight to tell.
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        reached++;
        signals.push({ workflowId: wf.workflowId, service, alerts: group.length, mostSevere: chosen.index });
      }
      if (!reached)
        ignore(
          'no promotion in flight',
          service,
          group.map((a) => a.index),
        );
    }
    return reply.code(202).send({
      received: alerts.length,
      promotionsSignalled: signals.length,
      signalled: signals.map((s) => s.workflowId),
      signals,
      ignored: [...ignored.values()].sort(
        (a, b) => IGNORED_ORDER.indexOf(a.reason) - IGNORED_ORDER.indexOf(b.reason) || a.alerts[0] - b.alerts[0],
      ),
    });
  });
}
