// `npm start`: the main job on embedded defaults — a local Temporal dev server with its Web UI,
// the Airlock worker, the simulated deployer and the sample policy.
import { z } from 'zod';
import { loadConfig } from '../worker/config';
import { loadCodecConfig } from '../codec/codec-keys';
import { ensureDevServer } from './dev-server';
import { runWorker } from '../worker/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const codec = loadCodecConfig(); // a bad key refuses to start before the dev server does
  const endpoint = z
    .url({ protocol: /^https?$/ })
    .optional()
    .safeParse(process.env.AIRLOCK_UI_CODEC_ENDPOINT || undefined);
  if (!endpoint.success) throw new Error('config: AIRLOCK_UI_CODEC_ENDPOINT: must be an http(s) URL');
  const server = await ensureDevServer(endpoint.data ? { uiCodecEndpoint: endpoint.data } : {});
  process.env.TEMPORAL_ADDRESS ??= server.address;
  const stop = () => {
    server.process?.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`Temporal dev server: ${server.address}   Web UI: ${server.uiUrl}`);
  console.log('Try it: `npm run demo` in another terminal drives one promotion to promoted and one to rolled_back.');
  await runWorker(config, codec);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
