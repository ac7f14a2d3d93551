// POST /webhooks/alerts: Prometheus Alertmanager (webhook_config) and Datadog monitor webhooks
// become errorRate signals for the promotion of that service in flight. Shared bearer token.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorRateSampleSchema, describeIssue } from '../workflows/payload-schemas';
import { errorRateSignal, type ErrorRateSample } from '../workflows/messages';
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

function samplesOf(body: unknown): Array<{ service: string; sample: ErrorRateSample }> {
  const isDatadog = (body as { source?: unknown })?.source === 'datadog';
  const r = isDatadog ? datadogSchema.safeParse(body) : alertmanagerSchema.safeParse(body);
  if (!r.success)
    throw new HttpError(400, `${isDatadog ? 'datadog' : 'alertmanager'} payload: ${describeIssue(r.error)}`);
  const raw = isDatadog
    ? [
        (({ service, environment, error_rate, baseline, request_count, date }) => ({
          service,
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
        sample: {
          environment: a.labels.environment,
          rate: a.annotations.error_rate,
          baseline: a.annotations.baseline,
          requestCount: a.annotations.request_count,
          observedAt: a.startsAt,
          source: `alertmanager:${a.status}`,
        },
      }));
  return raw.map(({ service, sample }) => {
    // The same schema the workflow applies: refused here with the field, before any signal.
    const s = errorRateSampleSchema.safeParse(sample);
    if (!s.success) throw new HttpError(400, `sample for ${service}: ${describeIssue(s.error)}`);
    return { service, sample: s.data as ErrorRateSample };
  });
}

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
    const samples = samplesOf(body);
    const services = deps.loadPolicy().services.map((s) => s.name);
    const unknown = samples.find((s) => !services.includes(s.service));
    if (unknown) throw new HttpError(422, `service "${unknown.service}" is not declared in policy.services`);
    const signalled: string[] = [];
    for (const { service, sample } of samples) {
      const query = `WorkflowType = 'promotion' AND AirlockService = '${service}' AND ExecutionStatus = 'Running'`;
      for await (const wf of deps.temporal.workflow.list({ query })) {
        await deps.temporal.workflow.getHandle(wf.workflowId).signal(errorRateSignal, sample);
        signalled.push(wf.workflowId);
      }
    }
    return reply.code(202).send({ signalled });
  });
}
