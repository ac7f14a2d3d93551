// `npm run demo`: two promotions through the real stage machine on the local dev server, with
// short, loudly labelled durations. notification-service is promoted after two approvals signed
// by the real `airlock approve` CLI; search-service breaches during its canary and rolls back.
// Both stay in the Temporal Web UI with their search attributes, histories and summaries.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { generateKeyPair } from '../approvals/key-file';
import { encodeBase64 } from '../approvals/base64';
import { ensureDevServer } from './dev-server';
import { startPromotion } from '../client/promotion-client';
import { connectClient, connectWorkerConnection } from '../client/temporal-connection';
import { createAirlockWorker, createDeps } from '../worker/worker';
import { loadConfig } from '../worker/config';
import { packageRoot } from '../worker/package-root';
import { formatRate, formatRise } from '../common/format';
import { stateQuery, type Change, type PromotionResult, type PromotionState } from '../workflows/messages';

const REPO_ROOT = packageRoot();

export interface DemoOptions {
  /** Working files (policy, keys, simulation state); default .airlock/demo. */
  dir?: string;
  taskQueue?: string;
  bakeSeconds?: number;
  canarySeconds?: number;
  productionWatchSeconds?: number;
  sampleEverySeconds?: number;
  log?: (line: string) => void;
}

export interface DemoResult {
  promoted: { workflowId: string; result: PromotionResult };
  rolledBack: { workflowId: string; result: PromotionResult };
}

/** The sample policy with short durations (allowShortBake says so) and fresh demo approver keys. */
function demoPolicy(
  dir: string,
  o: Required<Pick<DemoOptions, 'bakeSeconds' | 'canarySeconds' | 'productionWatchSeconds'>>,
) {
  const policy = parse(readFileSync(resolve(REPO_ROOT, 'policy/airlock.policy.yaml'), 'utf8'));
  const keys: Record<string, string> = {};
  for (const a of policy.approvers.allowed as Array<{ id: string; publicKey?: string }>) {
    const pair = generateKeyPair();
    keys[a.id] = resolve(dir, `${a.id}.key`);
    writeFileSync(keys[a.id], `${encodeBase64(pair.secretKey)}\n`, { mode: 0o600 });
    a.publicKey = pair.publicKey;
  }
  policy.bake = { minHours: o.bakeSeconds / 3600, allowShortBake: true };
  policy.canary = { ...policy.canary, minMinutes: o.canarySeconds / 60 };
  policy.production = { watchMinutes: o.productionWatchSeconds / 60 };
  policy.monitoring = { ...policy.monitoring, maxSilenceMinutes: 1, intervalSeconds: 5 };
  const path = resolve(dir, 'demo.policy.yaml');
  writeFileSync(
    path,
    `# Written by src/dev/demo.ts: the sample policy with DEMO durations. Never use in production.\n${stringify(policy)}`,
  );
  return { path, keys };
}

/** Runs `airlock approve` as a person would, with the key file `airlock keygen` would have written. */
async function cliApprove(workflowId: string, approver: string, keyFile: string, log: (l: string) => void) {
  log(`$ airlock approve ${workflowId} --as ${approver} --key ${keyFile}`);
  // Asynchronously: this process also runs the worker, which must keep answering workflow tasks.
  const args = [
    resolve(REPO_ROOT, 'bin/airlock.js'),
    'approve',
    workflowId,
    '--as',
    approver,
    '--key',
    keyFile,
    '--comment',
    'demo: canary looks clean',
  ];
  try {
    const r = await promisify(execFile)(process.execPath, args, { env: process.env, encoding: 'utf8' });
    for (const line of `${r.stdout}${r.stderr}`.trim().split('\n')) log(`  ${line}`);
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`airlock approve exited ${e.code}: ${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim()}`);
  }
}

const pct = formatRate;

async function stateOf(client: Client, workflowId: string): Promise<PromotionState> {
  return client.workflow.getHandle(workflowId).query(stateQuery);
}

export async function runDemo(client: Client, o: DemoOptions = {}): Promise<DemoResult> {
  const log = o.log ?? console.log;
  const dir = o.dir ?? resolve(REPO_ROOT, '.airlock/demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const durations = {
    bakeSeconds: o.bakeSeconds ?? 40,
    canarySeconds: o.canarySeconds ?? 20,
    productionWatchSeconds: o.productionWatchSeconds ?? 20,
  };
  const policy = demoPolicy(dir, durations);
  const taskQueue = o.taskQueue ?? 'airlock-demo';
  const slotWorkflowId = `${taskQueue}-blast-radius`;
  const config = {
    ...loadConfig({
      ...process.env,
      AIRLOCK_POLICY: policy.path,
      AIRLOCK_TASK_QUEUE: taskQueue,
      AIRLOCK_SIMULATION_STATE: resolve(dir, 'simulation.json'),
    }),
  };
  const { connection, namespace } = await connectWorkerConnection();
  const worker = await createAirlockWorker({ connection, namespace, taskQueue, deps: createDeps(config, client) });
  log(
    `DEMO durations (bake.allowShortBake: true): bake ${durations.bakeSeconds}s, canary ${durations.canarySeconds}s, production watch ${durations.productionWatchSeconds}s; policy ${policy.path}`,
  );

  const commit = () => randomBytes(20).toString('hex');
  const good: Change = {
    service: 'notification-service',
    commit: commit(),
    author: 'airlock-agent[bot]',
    version: 'v2.4.1',
    title: 'Raise notification batch size',
  };
  const bad: Change = {
    service: 'search-service',
    commit: commit(),
    author: 'airlock-agent[bot]',
    version: 'v7.0.0',
    title: 'New query planner',
  };

  const drive = async (): Promise<DemoResult> => {
    const a = await startPromotion(client, good, { taskQueue, slotWorkflowId });
    const b = await startPromotion(client, bad, { taskQueue, slotWorkflowId });
    log(`started ${a.workflowId}\nstarted ${b.workflowId} (queued behind it: at most one service in flight)`);
    const ended = new Map<string, PromotionResult>();
    const approved = new Set<string>();
    const lastStage = new Map<string, string>();
    for (const h of [a, b]) {
      void client.workflow
        .getHandle(h.workflowId)
        .result()
        .then((r: PromotionResult) => ended.set(h.workflowId, r));
    }
    // Plays the metrics system: a sample every few seconds for each deployed environment.
    while (ended.size < 2) {
      for (const [id, change] of [
        [a.workflowId, good],
        [b.workflowId, bad],
      ] as const) {
        if (ended.has(id)) continue;
        const s = await stateOf(client, id).catch(() => undefined);
        if (!s || s.stage === 'ended') continue;
        if (lastStage.get(id) !== s.stage) {
          lastStage.set(id, s.stage);
          log(`${change.service}: ${s.stage}${s.queuePosition ? ` (queue position ${s.queuePosition})` : ''}`);
        }
        const handle = client.workflow.getHandle(id);
        const observedAt = new Date().toISOString();
        for (const environment of s.deployed) {
          // search-service's new version fails 3 % of requests once real users reach its canary.
          const breaching = change === bad && s.stage === 'canary' && environment === 'production';
          await handle
            .signal('errorRate', {
              environment,
              rate: breaching ? 0.031 : 0.01,
              baseline: 0.01,
              requestCount: 4000,
              observedAt,
            })
            .catch(() => undefined);
        }
        if (s.stage === 'awaiting_approval' && !approved.has(id)) {
          approved.add(id);
          await cliApprove(id, 'alice', policy.keys.alice, log);
          await cliApprove(id, 'bob', policy.keys.bob, log);
        }
      }
      await new Promise((r) => setTimeout(r, (o.sampleEverySeconds ?? 3) * 1000));
    }
    const result = {
      promoted: { workflowId: a.workflowId, result: ended.get(a.workflowId)! },
      rolledBack: { workflowId: b.workflowId, result: ended.get(b.workflowId)! },
    };
    log(`${good.service}: ${result.promoted.result.outcome}`);
    const why = result.rolledBack.result.interruption;
    const evidence =
      why?.kind === 'breach'
        ? ` (breach in ${why.sample.environment}: ${pct(why.sample.rate)} errors vs baseline ${pct(why.baselineUsed)}, ${formatRise(why.risePercent)} over a +${why.thresholdPercent}% threshold)`
        : why
          ? ` (${why.kind})`
          : '';
    log(`${bad.service}: ${result.rolledBack.result.outcome}${evidence}`);
    return result;
  };
  return worker.runUntil(drive);
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = await ensureDevServer();
  process.env.TEMPORAL_ADDRESS ??= server.address;
  const client = await connectClient();
  try {
    const r = await runDemo(client);
    const ok = r.promoted.result.outcome === 'promoted' && r.rolledBack.result.outcome === 'rolled_back';
    console.log(
      `\nSee both in the Temporal Web UI: ${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent('AirlockService IS NOT NULL')}`,
    );
    if (server.process) {
      console.log('The dev server started for the demo stops now; run `npm start` first to keep it (and the UI) up.');
      server.process.kill('SIGTERM');
    }
    process.exit(ok ? 0 : 1);
  } catch (err) {
    server.process?.kill('SIGTERM');
    throw err;
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
