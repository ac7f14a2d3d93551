// `npm run demo`: two promotions of the agent's own manifest changes through the real stage
// machine on the local dev server, with short, loudly labelled durations. The demo makes a small
// git infra repo (demo-repo.ts); the simulated deployer renders each merge commit from it and
// applies the objects to its in-memory cluster. notification-service's probe fix
// (failureThreshold 3 → 5) is promoted after two approvals, signed by the real `airlock approve`
// CLI, of the production diff printed here; search-service's memory change breaches during its
// canary and is rolled back, and the demo checks that staging and production hold exactly the
// objects they had before. Both stay in the Temporal Web UI with their search attributes.
import { execFile } from 'node:child_process';
import { isDeepStrictEqual, promisify } from 'node:util';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import type { Deployer } from '../integrations/deployer';
import type { Json } from '../integrations/kubernetes/object-set';
import { createSimulatedObjectStore } from '../integrations/simulation/simulated-object-store';
import { simulatedObjectsFile } from '../worker/simulation-wiring';
import { createDemoRepo, DEMO_ENVIRONMENTS, manifestsDir, type DemoRepo } from './demo-repo';

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
  /** `productionChange`: the production diff both approvers were shown (state.productionChange.text). */
  promoted: { workflowId: string; result: PromotionResult; productionChange?: string };
  /** `restoredExactly`: per environment, the service's simulated objects equal those from before the change. */
  rolledBack: { workflowId: string; result: PromotionResult; restoredExactly: Record<string, boolean> };
  /** The demo's infra repo and its commits. */
  repo: DemoRepo;
  /** The simulated object store's file (environment → objects). */
  objectsFile: string;
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
  // The two services are rendered from the demo repo's plain manifests: the change itself is promoted.
  for (const s of policy.services as Array<{ name: string; paths: string[]; environments?: unknown }>) {
    if (s.name !== 'notification-service' && s.name !== 'search-service') continue;
    s.paths = [`deploy/${s.name}/**`];
    s.environments = Object.fromEntries(
      DEMO_ENVIRONMENTS.map((e) => [e, { kubernetes: { manifests: manifestsDir(s.name, e) } }]),
    );
  }
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

/** Indented, so the diff reads as a quotation in the demo's output. */
const quoted = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    | ${l}`)
    .join('\n');

/** The environments as they run before the agent's changes: the base commit rendered and applied. */
async function seedSimulatedCluster(deployer: Deployer, repo: DemoRepo, log: (l: string) => void) {
  log(`the simulated cluster before the agent's changes (base ${repo.base.slice(0, 12)}, rendered and applied):`);
  for (const service of ['notification-service', 'search-service'])
    for (const environment of DEMO_ENVIRONMENTS) {
      const r = await deployer.deploy({ service, environment, version: 'base', change: { commit: repo.base } });
      log(`  ${r.summary}`);
    }
}

/** The service's objects per environment, read back from the simulated object store's file. */
function objectsOf(file: string, service: string): Record<string, Json[]> {
  const store = createSimulatedObjectStore({ stateFile: file });
  return Object.fromEntries(DEMO_ENVIRONMENTS.map((e) => [e, store.ofService(e, service)]));
}

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
  const repo = createDemoRepo(resolve(dir, 'infra'));
  const objectsFile = simulatedObjectsFile(resolve(dir, 'simulation.json'));
  const taskQueue = o.taskQueue ?? 'airlock-demo';
  const slotWorkflowId = `${taskQueue}-blast-radius`;
  const config = {
    ...loadConfig({
      ...process.env,
      AIRLOCK_POLICY: policy.path,
      AIRLOCK_TASK_QUEUE: taskQueue,
      AIRLOCK_SIMULATION_STATE: resolve(dir, 'simulation.json'),
      AIRLOCK_REPO_DIR: repo.dir,
    }),
  };
  const { connection, namespace } = await connectWorkerConnection();
  const deps = createDeps(config, client);
  // The client's codec (AIRLOCK_CODEC_KEYS) for the worker too: one writes what the other reads.
  const { payloadCodecs } = client.options.loadedDataConverter;
  const worker = await createAirlockWorker({
    connection,
    namespace,
    taskQueue,
    deps,
    dataConverter: { payloadCodecs },
  });
  log(
    `DEMO durations (bake.allowShortBake: true): bake ${durations.bakeSeconds}s, canary ${durations.canarySeconds}s, production watch ${durations.productionWatchSeconds}s; policy ${policy.path}`,
  );
  log(`infra repo ${repo.dir}: the deployer renders each merge commit from it (plain manifests) [simulated cluster]`);
  await seedSimulatedCluster(deps.deployer, repo, log);

  const good: Change = {
    service: 'notification-service',
    commit: repo.probeFix,
    baseCommit: repo.base,
    author: 'airlock-agent[bot]',
    version: repo.probeFix.slice(0, 12),
    title: 'notification-service: liveness failureThreshold 3 -> 5',
  };
  const bad: Change = {
    service: 'search-service',
    commit: repo.memoryChange,
    baseCommit: repo.probeFix,
    author: 'airlock-agent[bot]',
    version: repo.memoryChange.slice(0, 12),
    title: 'search-service: memory 512Mi -> 768Mi',
  };
  const searchBefore = objectsOf(objectsFile, bad.service);

  const drive = async (): Promise<DemoResult> => {
    const a = await startPromotion(client, good, { taskQueue, slotWorkflowId });
    const b = await startPromotion(client, bad, { taskQueue, slotWorkflowId });
    log(`started ${a.workflowId}\nstarted ${b.workflowId} (queued behind it: at most one service in flight)`);
    const ended = new Map<string, PromotionResult>();
    const approved = new Set<string>();
    let shown: string | undefined;
    const gateShown = new Set<string>();
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
          const warnings = s.findings.filter((f) => f.level === 'warn');
          if (s.stage !== 'policy_gate' && !gateShown.has(id) && warnings.length)
            log(`  the policy gate allowed it with warnings: ${[...new Set(warnings.map((f) => f.rule))].join(', ')}`);
          if (s.stage !== 'policy_gate') gateShown.add(id);
        }
        const handle = client.workflow.getHandle(id);
        const observedAt = new Date().toISOString();
        for (const environment of s.deployed) {
          // search-service's new version fails 3 % of requests once real users reach its canary.
          const breaching = change === bad && s.stage === 'canary' && environment === 'production';
          // Counts over the interval since the last sample: the canary's beside the stable version's
          // (nine times its traffic); staging's and the full rollout's beside the hour before the deploy.
          await handle
            .signal('errorRate', {
              environment,
              errors: breaching ? 124 : 40,
              requests: 4000,
              baselineErrors: s.stage === 'canary' || s.stage === 'awaiting_approval' ? 360 : 400,
              baselineRequests: s.stage === 'canary' || s.stage === 'awaiting_approval' ? 36_000 : 40_000,
              observedAt,
            })
            .catch(() => undefined);
        }
        if (s.stage === 'awaiting_approval' && !approved.has(id)) {
          approved.add(id);
          const pc = s.productionChange;
          if (id === a.workflowId) shown = pc?.text;
          log(
            pc
              ? `${change.service}: the production change both approvers see (state.productionChange, ${pc.digest}):\n${quoted(pc.text)}${pc.notes.map((n) => `\n    note: ${n}`).join('')}`
              : `${change.service}: no production diff in the approval request`,
          );
          await cliApprove(id, 'alice', policy.keys.alice, log);
          await cliApprove(id, 'bob', policy.keys.bob, log);
        }
      }
      await new Promise((r) => setTimeout(r, (o.sampleEverySeconds ?? 3) * 1000));
    }
    const searchAfter = objectsOf(objectsFile, bad.service);
    const restoredExactly = Object.fromEntries(
      DEMO_ENVIRONMENTS.map((e) => [e, isDeepStrictEqual(searchAfter[e], searchBefore[e])]),
    );
    const result: DemoResult = {
      promoted: {
        workflowId: a.workflowId,
        result: ended.get(a.workflowId)!,
        ...(shown !== undefined ? { productionChange: shown } : {}),
      },
      rolledBack: { workflowId: b.workflowId, result: ended.get(b.workflowId)!, restoredExactly },
      repo,
      objectsFile,
    };
    log(`${good.service}: ${result.promoted.result.outcome}`);
    const why = result.rolledBack.result.interruption;
    const evidence =
      why?.kind === 'breach'
        ? ` (breach in ${why.sample.environment}: ${pct(why.sample.rate)} errors vs baseline ${pct(why.baselineUsed)}, ${formatRise(why.risePercent)} over a +${why.thresholdPercent}% threshold${why.test ? `; ${why.test}` : ''})`
        : why
          ? ` (${why.kind})`
          : '';
    log(`${bad.service}: ${result.rolledBack.result.outcome}${evidence}`);
    for (const e of DEMO_ENVIRONMENTS)
      log(
        `  ${e}: ${restoredExactly[e] ? 'the objects equal the snapshot from before the change, exactly' : 'the objects DIFFER from the snapshot from before the change'} (${searchAfter[e].map((x) => `${String(x.kind)}/${(x.metadata as Json).name as string}`).join(', ')}; compared whole) [simulated]`,
      );
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
