// `npm run record-histories`: runs every scenario on the time-skipping server with the current
// workflow code and saves its history under test/replay/histories/<scenario>.<RECORDING>.json, or,
// for a promotion that continued as new, each run's under <scenario>.run-<n>.<RECORDING>.json.
// It never overwrites a fixture: old histories are the only proof that promotions started on older
// code still replay. Bump RECORDING when the workflow's behaviour changes (a new patch id).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createRig, timeSkippingEnv } from '../helpers/harness';
import { runHistories } from '../helpers/runs';
import { SCENARIOS } from './scenarios';
import { SLOT_SCENARIOS } from './slot-scenarios';
import { version as sdkVersion } from '@temporalio/workflow/package.json';

/** The newest behaviour the recordings show: the promotion workflow's latest patch id. */
const RECORDING = 'signed-waivers';
/** The same for the slot workflow and the compensation it starts (which queues its reports the same way). */
const SLOT_RECORDING = 'slot-kept-timers';

function save(file: string, workflowId: string, history: unknown) {
  const doc = {
    workflowId,
    sdkVersion,
    recordedAt: new Date().toISOString(),
    history: JSON.parse(historyToJSON(history as never)),
  };
  writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
}

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
          : s.waivableFinding
            ? {
                checkChange: async () => [
                  { rule: 'replicas', level: 'block', file: 'k8s/prod/app.yaml', line: 7, message: 'replicas 3 → 30' },
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
        save(file, h.workflowId, history);
        console.log(`${s.name}: ${history.events?.length} events -> ${file}`);
      }
    }
    for (const s of SLOT_SCENARIOS) {
      const fileOf = (name: string) => join(__dirname, 'histories', `${name}.${SLOT_RECORDING}.json`);
      if (existsSync(fileOf(s.name))) {
        console.log(`${s.name}: ${fileOf(s.name)} exists; fixtures are never overwritten`);
        continue;
      }
      const rig = createRig(env);
      const kept = await rig.run(() => s.drive(env, rig));
      for (const k of kept) {
        const history = await env.client.workflow
          .getHandle(k.workflowId)
          .fetchHistory()
          .catch((err) => {
            if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) return undefined; // e.g. no compensation on older code
            throw err;
          });
        if (!history) continue;
        save(fileOf(k.name), k.workflowId, history);
        console.log(`${k.name}: ${history.events?.length} events -> ${fileOf(k.name)}`);
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
