// POST /webhooks/alerts: Prometheus Alertmanager (webhook_config) and Datadog monitor webhooks.
// A firing alert is the alerting system's own verdict: it reaches the promotion of that service in
// flight as an `alert` signal, which rolls back when the alert is about the change (its version, or
// service-wide) in an environment running it; it is never fed into the error-rate statistics.
// One request sends at most ONE signal per promotion (a 1 MiB Alertmanager group holds thousands of
// alerts, and a run's history is capped at 51,200 events), carrying the request's distinct alerts.
// Each source has its own bearer token, and a token speaks only for its source: a leaked Datadog
// token cannot send Alertmanager alerts, and the reverse.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { describeIssue, firingAlertSchema } from '../workflows/payload-schemas';
import { alertSignal, type AlertSignal, type FiringAlert } from '../workflows/messages';
import type { ServerDeps } from './deps';
import { HttpError } from './http-errors';

const environment = z.enum(['staging', 'production']);
/** Alertmanager v4 webhook: the alert rule's labels name the service, environment and (optionally) version. */
const alertmanagerSchema = z.object({
  version: z.literal('4'),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z
          .object({
            alertname: z.string().min(1),
            service: z.string().min(1),
            environment,
            version: z.string().min(1).optional(),
          })
          .passthrough(),
        startsAt: z.string(),
        generatorURL: z.string().optional(),
      }),
    )
    .min(1),
});
/** Datadog: the webhook's custom payload template (docs/server.md gives it). */
const datadogSchema = z.object({
  source: z.literal('datadog'),
  service: z.string().min(1),
  environment,
  title: z.string().min(1),
  /** $ALERT_TRANSITION: Triggered and Re-Triggered fire; Recovered resolves; others are not a verdict. */
  transition: z.string().min(1).default('Triggered'),
  version: z.string().min(1).optional(),
  link: z.string().optional(),
  /** $DATE: milliseconds since the epoch. */
  date: z.union([z.number(), z.string().trim().min(1)]).pipe(z.coerce.number<string | number>().int().positive()),
});

const sha = (s: string) => createHash('sha256').update(s).digest();
const FIRING_TRANSITIONS = new Set(['Triggered', 'Re-Triggered']);

/** One alert of a request, validated: `index` is its place in the payload's `alerts` (0 for Datadog). */
interface ParsedAlert {
  index: number;
  service: string;
  status: 'firing' | 'resolved' | 'not an alert';
  alert: FiringAlert;
}

export type AlertSource = 'alertmanager' | 'datadog';
const SOURCE_NAME: Record<AlertSource, string> = { alertmanager: 'Alertmanager', datadog: 'Datadog' };

function alertsOf(body: unknown, source: AlertSource): ParsedAlert[] {
  const says: AlertSource = (body as { source?: unknown })?.source === 'datadog' ? 'datadog' : 'alertmanager';
  if (says !== source)
    throw new HttpError(
      403,
      `authorization: the ${SOURCE_NAME[source]} token may only send ${SOURCE_NAME[source]} payloads (this one is ${SOURCE_NAME[says]})`,
    );
  const isDatadog = source === 'datadog';
  const r = isDatadog ? datadogSchema.safeParse(body) : alertmanagerSchema.safeParse(body);
  if (!r.success)
    throw new HttpError(400, `${isDatadog ? 'datadog' : 'alertmanager'} payload: ${describeIssue(r.error)}`);
  const raw: Array<Omit<ParsedAlert, 'index'>> = isDatadog
    ? [
        (({ service, environment, title, transition, version, link, date }) => ({
          service,
          status: FIRING_TRANSITIONS.has(transition)
            ? ('firing' as const)
            : transition === 'Recovered'
              ? ('resolved' as const)
              : ('not an alert' as const),
          alert: {
            environment,
            name: title,
            source: 'datadog',
            startsAt: new Date(date).toISOString(),
            ...(version ? { version } : {}),
            ...(link ? { url: link } : {}),
          },
        }))(r.data as z.infer<typeof datadogSchema>),
      ]
    : (r.data as z.infer<typeof alertmanagerSchema>).alerts.map((a) => ({
        service: a.labels.service,
        status: a.status,
        alert: {
          environment: a.labels.environment,
          name: a.labels.alertname,
          source: 'alertmanager',
          startsAt: a.startsAt,
          ...(a.labels.version ? { version: a.labels.version } : {}),
          ...(a.generatorURL ? { url: a.generatorURL } : {}),
        },
      }));
  // Every alert is checked, resolved ones too, before anything is signalled: bad input is refused whole.
  return raw.map((a, index) => {
    // The same schema the workflow applies: refused here with the field, before any signal.
    const s = firingAlertSchema.safeParse(a.alert);
    if (!s.success)
      throw new HttpError(
        400,
        `alert for ${a.service}${isDatadog ? '' : ` (alerts.${index})`}: ${describeIssue(s.error)}`,
      );
    return { ...a, index, alert: s.data };
  });
}

/** What the one signal of a request carries: at most this many distinct alerts. */
export const MAX_ALERTS_PER_SIGNAL = 50;

/**
 * The request's firing alerts for one promotion, one per (environment, name, version): an
 * Alertmanager group repeats one rule across instances. Alerts about a version come before
 * service-wide ones (the promotion acts on the first that applies, and its version decides), then
 * the payload's order; beyond MAX_ALERTS_PER_SIGNAL only the number is carried.
 */
export function alertSignalOf(alerts: FiringAlert[]): AlertSignal {
  const distinct = new Map<string, FiringAlert>();
  for (const a of alerts) {
    const key = JSON.stringify([a.environment, a.name, a.version ?? null]);
    if (!distinct.has(key)) distinct.set(key, a);
  }
  const ordered = [...distinct.values()].sort(
    (a, b) => Number(a.version === undefined) - Number(b.version === undefined),
  );
  const kept = ordered.slice(0, MAX_ALERTS_PER_SIGNAL);
  return { alerts: kept, ...(ordered.length > kept.length ? { more: ordered.length - kept.length } : {}) };
}

type IgnoredReason = 'resolved' | 'not an alert' | 'unknown service' | 'no promotion in flight';
const IGNORED_ORDER: IgnoredReason[] = ['resolved', 'not an alert', 'unknown service', 'no promotion in flight'];

export function registerAlertWebhook(
  app: FastifyInstance,
  deps: ServerDeps,
  tokens: { alertmanagerToken?: string; datadogToken?: string },
  routeConfig: Record<string, unknown> = {},
): void {
  const expected = (
    [
      ['alertmanager', tokens.alertmanagerToken],
      ['datadog', tokens.datadogToken],
    ] as const
  ).flatMap(([source, token]) => (token ? [{ source, hash: sha(`Bearer ${token}`) }] : []));
  app.post('/webhooks/alerts', { config: routeConfig }, async (req, reply) => {
    const auth = req.headers.authorization;
    // Hashing first gives equal lengths, so each comparison is constant time whatever was sent;
    // every configured token is compared, so the time does not tell which source matched.
    const got = sha(typeof auth === 'string' ? auth : '');
    const matches = expected.filter((e) => timingSafeEqual(got, e.hash));
    if (typeof auth !== 'string' || !matches.length)
      throw new HttpError(401, 'authorization: missing or wrong bearer token');
    const source = matches[0].source;
    if (typeof req.body !== 'string') throw new HttpError(415, 'content-type: must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      throw new HttpError(400, 'body: not valid JSON');
    }
    const alerts = alertsOf(body, source);
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
      else if (a.status !== 'firing') ignore(a.status, a.service, [a.index]);
      else if (firing.has(a.service)) firing.get(a.service)!.push(a);
      else firing.set(a.service, [a]);
    }

    const signals: Array<{ workflowId: string; service: string; alerts: number; sent: number }> = [];
    for (const [service, group] of firing) {
      const signal = alertSignalOf(group.map((a) => a.alert));
      let reached = 0;
      // Service names are declared in the policy (checked above), so they are safe in the query.
      const query = `WorkflowType = 'promotion' AND AirlockService = '${service}' AND ExecutionStatus = 'Running'`;
      for await (const wf of deps.temporal.workflow.list({ query })) {
        try {
          await deps.temporal.workflow.getHandle(wf.workflowId).signal(alertSignal, signal);
        } catch (err) {
          // Ended since visibility listed it: nothing in flight to tell.
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        reached++;
        signals.push({ workflowId: wf.workflowId, service, alerts: group.length, sent: signal.alerts.length });
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
