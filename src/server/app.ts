// The webhook server: Fastify with raw bodies (signatures are checked over the exact bytes),
// a body limit, JSON errors that name the field, and only the integrations that are configured.
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config';
import type { ServerDeps } from './deps';
import { HttpError } from './http-errors';
import { registerGithubWebhook } from './github-webhook';
import { registerSlackRoutes } from './slack-routes';
import { registerAlertWebhook } from './alert-webhook';

export function createServer(config: ServerConfig, deps: ServerDeps, opts: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: config.bodyLimit, logger: opts.logger ?? false });
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

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      deps.loadPolicy();
      await deps.temporal.workflowService.getSystemInfo({});
      return { ready: true };
    } catch (err) {
      return reply.code(503).send({ ready: false, error: (err as Error).message });
    }
  });

  if (config.github) registerGithubWebhook(app, deps, config.github.webhookSecret);
  if (config.slack) registerSlackRoutes(app, deps, config.slack);
  if (config.alerts) registerAlertWebhook(app, deps, config.alerts.token);
  return app;
}
