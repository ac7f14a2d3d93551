// `npm run codec-server`: the codec server for the Temporal Web UI and CLI (docs/codec.md).
import { loadCodecServerConfig } from './codec-server-config';
import { createCodecServer } from './codec-server-app';

async function main(): Promise<void> {
  const config = loadCodecServerConfig();
  const app = createCodecServer(config, { logger: true });
  await app.listen({ host: config.host, port: config.port });
  if (!config.token)
    app.log.warn(
      'airlock codec server: no AIRLOCK_CODEC_SERVER_TOKEN: anyone who can reach this port reads every history in clear',
    );
  app.log.info(`airlock codec server: UI origins ${config.origins.join(', ')}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
