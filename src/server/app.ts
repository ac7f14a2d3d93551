// The webhook server: Fastify with raw bodies (signatures are checked over the exact bytes),
// a body limit, per-address and per-route rate limits, JSON errors that name the field, and only
// the integrations that are configured.
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { DEFAULT_RATE_LIMITS, type ServerConfig } from './config';
import type { ServerDeps } from './deps';
import { HttpError } from './http-errors';
import { registerGithubWebhook } from './github-webhook';
import { registerSlackRoutes } from './slack-routes';
import { registerAlertWebhook } from './alert-webhook';

export function createServer(config: ServerConfig, deps: ServerDeps, opts: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: config.bodyLimit,
    logger: opts.logger ?? false,
    trustProxy: config.trustProxyHops ? config.trustProxyHops : false,
  });
  app.removeAllContentTypeParsers();
  // Routes verify before they parse: every body reaches them as the string that was signed.
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({ error: `body: larger than ${config.bodyLimit} bytes` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply
        .code(415)
        .send({ error: 'content-type: must be application/json or application/x-www-form-urlencoded' });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    app.log.error({ err: err.message }, 'request failed');
    return reply.code(500).send({ error: 'internal error (see the server log)' });
  });

  // Every route has its own counter per client address: a flood of one route or from one address
  // leaves the others answering. Checked on request, before the body is read.
  const limits = config.rateLimits ?? DEFAULT_RATE_LIMITS;
  void app.register(rateLimit, {
    global: false,
    onExceeded: (req) => app.log.warn({ ip: req.ip, route: req.routeOptions.url }, 'rate limit exceeded'),
    errorResponseBuilder: (req, ctx) =>
      new HttpError(
        429,
        `rate limit: more than ${ctx.max} requests to ${req.method} ${req.routeOptions.url} from this address in ${limits.windowMs / 1000} s; retry in ${ctx.after}`,
      ),
  });
  const limited = (max: number) => ({ rateLimit: { max, timeWindow: limits.windowMs } });

  // Routes are added in a plugin registered after the rate limiter, so its onRoute hook sees them.
  void app.register(async (scope) => {
    scope.get('/healthz', { config: limited(limits.health) }, async () => ({ ok: true }));
    scope.get('/readyz', { config: limited(limits.health) }, async (_req, reply) => {
      try {
        deps.loadPolicy();
        await deps.temporal.workflowService.getSystemInfo({});
        return { ready: true };
      } catch (err) {
        // The reason stays in the server's log: an anonymous caller learns only "not ready".
        app.log.warn({ err: (err as Error).message }, 'readyz: not ready');
        return reply.code(503).send({ ready: false });
      }
    });
    if (config.github) registerGithubWebhook(scope, deps, config.github, limited(limits.github));
    if (config.slack) registerSlackRoutes(scope, deps, config.slack, limited(limits.slack));
    if (config.alerts) registerAlertWebhook(scope, deps, config.alerts, limited(limits.alerts));
  });
  return app;
}
