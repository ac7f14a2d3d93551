// `npm run record-histories`: runs every scenario on the time-skipping server with the current
// workflow code and saves its history under test/replay/histories/<scenario>.<RECORDING>.json, or,
// for a promotion that continued as new, each run's under <scenario>.run-<n>.<RECORDING>.json.
// It never overwrites a fixture: old histories are the only proof that promotions started on older
// code still replay. Bump RECORDING when the workflow's behaviour changes (a new patch id).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createRig, timeSkippingEnv } from '../helpers/harness';
import { runHistories } from '../helpers/runs';
import { SCENARIOS } from './scenarios';
import { version as sdkVersion } from '@temporalio/workflow/package.json';

/** The newest behaviour the recordings show: the promotion workflow's latest patch id. */
const RECORDING = 'continue-as-new';

async function main() {
  const env = await timeSkippingEnv();
  try {
    for (const s of SCENARIOS) {
      const fileOf = (run?: number) =>
        join(__dirname, 'histories', `${s.name}${run ? `.run-${run}` : ''}.${RECORDING}.json`);
      const existing = [fileOf(), fileOf(1)].find((f) => existsSync(f));
      if (existing) {
        console.log(`${s.name}: ${existing} exists; fixtures are never overwritten`);
        continue;
      }
      const rig = createRig(env, {
        policy: s.policy,
        deps: s.blockFinding
          ? {
              checkChange: async () => [
                {
                  rule: 'forbidden-path',
                  level: 'block',
                  file: 'terraform/production/main.tf',
                  message: 'recorded fixture',
                },
              ],
            }
          : {},
      });
      const h = await rig.run(async () => {
        const handle = await rig.start({}, s.historyLimit ? { historyLimit: s.historyLimit } : {});
        await s.drive(env, handle);
        const result = await handle.result();
        if (result.outcome !== s.outcome) throw new Error(`${s.name}: ended ${result.outcome}, expected ${s.outcome}`);
        return handle;
      });
      const runs = await runHistories(env.client, h.workflowId);
      for (const [i, { history }] of runs.entries()) {
        const file = fileOf(runs.length > 1 ? i + 1 : undefined);
        const doc = {
          workflowId: h.workflowId,
          sdkVersion,
          recordedAt: new Date().toISOString(),
          history: JSON.parse(historyToJSON(history)),
        };
        writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
        console.log(`${s.name}: ${history.events?.length} events -> ${file}`);
      }
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
