// The codec server (Temporal's remote codec protocol): POST /decode and /encode with
// `{ payloads: [...] }`, so the Web UI and `temporal --codec-endpoint` show histories in clear to
// whoever may call it. CORS only for the configured UI origins; a request from any other browser
// origin is refused outright. With a token, every call needs `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CodecServerConfig } from './codec-server-config';
import { createEncryptionCodec, PayloadDecryptError } from './encryption-codec';
import { payloadsBodySchema, payloadsFromJson, payloadsToJson } from './payload-json';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createCodecServer(
  config: Pick<CodecServerConfig, 'keys' | 'origins' | 'token'>,
  opts: { logger?: boolean } = {},
): FastifyInstance {
  const codec = createEncryptionCodec(config.keys);
  const expected = config.token ? digest(`Bearer ${config.token}`) : undefined;
  const app = Fastify({ bodyLimit: 32 * 1024 * 1024, logger: opts.logger ?? false });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!config.origins.includes(origin))
        return reply.code(403).send({ error: `origin: ${origin} is not in AIRLOCK_CODEC_SERVER_ORIGINS` });
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'origin');
      reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
    }
    if (req.method === 'OPTIONS') return reply.code(204).send(); // a preflight carries no credentials
    if (expected) {
      const given = digest(req.headers.authorization ?? '');
      if (!timingSafeEqual(given, expected))
        return reply.code(401).send({ error: 'authorization: a valid bearer token is required' });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof PayloadDecryptError) return reply.code(400).send({ error: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    app.log.error({ err: err.message }, 'codec request failed');
    return reply.code(500).send({ error: 'internal error (see the codec server log)' });
  });

  const route = (path: '/encode' | '/decode', run: typeof codec.encode) =>
    app.post(path, async (req, reply) => {
      const body = payloadsBodySchema.safeParse(req.body);
      if (!body.success) {
        const i = body.error.issues[0];
        return reply.code(400).send({ error: `body.${i.path.join('.')}: ${i.message}` });
      }
      return payloadsToJson(await run(payloadsFromJson(body.data)));
    });
  route('/encode', (p) => codec.encode(p));
  route('/decode', (p) => codec.decode(p));
  app.options('/*', async () => undefined);
  return app;
}
