// End to end on the Temporal CLI dev server (the server `npm start` runs), with short durations
// that the policy labels explicitly (bake.allowShortBake). The real 24 h bake is tested on the
// time-skipping server in test/workflows.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { createRig, devServerEnv, state } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { runDemo } from '../../src/dev/demo';
import { approveUpdate } from '../../src/workflows/messages';
import { renderKubernetes } from '../../src/integrations/render';
import type { Json } from '../../src/integrations/kubernetes/object-set';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
});
afterAll(async () => {
  await env?.teardown();
});

/** Visibility is eventually consistent: ask until the query answers or time runs out. */
async function listIds(query: string, want: number): Promise<string[]> {
  let ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    ids = [];
    for await (const w of env.client.workflow.list({ query })) ids.push(w.workflowId);
    if (ids.length >= want) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ids;
}

describe('dev server', () => {
  test('npm run demo: the probe fix promoted by two CLI-signed approvals of its production diff, a memory change rolled back on a canary breach to exactly the objects before, both findable by search attribute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-demo-'));
    const lines: string[] = [];
    const r = await runDemo(env.client, {
      dir,
      taskQueue: `demo-${Date.now()}`,
      bakeSeconds: 8,
      canarySeconds: 4,
      productionWatchSeconds: 4,
      sampleEverySeconds: 1,
      log: (l) => lines.push(l),
    });
    assert.equal(r.promoted.result.outcome, 'promoted', lines.join('\n'));
    assert.deepEqual(
      r.promoted.result.approvals.map((a) => [a.approver, a.attribution]),
      [
        ['alice', 'approver-key'],
        ['bob', 'approver-key'],
      ],
    );
    assert.ok(
      lines.some((l) => /approved .*: 2\/2/.test(l)),
      'the real CLI printed the second approval',
    );
    assert.equal(r.rolledBack.result.outcome, 'rolled_back');
    const why = r.rolledBack.result.interruption;
    assert.equal(why?.kind, 'breach');
    assert.equal(why?.kind === 'breach' && why.sample.environment, 'production');
    // Judged by the sequential breach test on the counts the demo sends, which records its statistic.
    assert.match((why?.kind === 'breach' && why.test) || '', /likelihood ratio .* ≥ 1\/α/);

    // What approvers were shown: the real production diff of the probe fix, not the title.
    const shown = r.promoted.productionChange ?? '';
    assert.match(
      shown,
      /^# kubernetes production \[simulated\]: update Deployment production\/notification-service$/m,
      shown,
    );
    assert.match(shown, /^-\s+failureThreshold: 3$/m);
    assert.match(shown, /^\+\s+failureThreshold: 5$/m);
    const output = lines.join('\n');
    assert.match(
      output,
      /^notification-service: the production change both approvers see \(state\.productionChange, sha256:[0-9a-f]{64}\):$/m,
    );
    assert.match(output, /^\s+\| \+\s+failureThreshold: 5$/m, 'the demo printed the diff');

    // What the simulated cluster holds afterwards, read from the store's file: the probe fix in
    // production, no canary copy; search-service exactly its base render in both environments.
    const objects = JSON.parse(readFileSync(r.objectsFile, 'utf8')) as Record<string, Record<string, Json>>;
    const ofService = (environment: string, service: string) =>
      Object.values(objects[environment])
        .filter((o) => ((o.metadata as Json).labels as Record<string, string>)['airlock.dev/service'] === service)
        .map((o) => `${String(o.kind)}/${(o.metadata as Json).name as string}`)
        .sort();
    assert.deepEqual(ofService('production', 'notification-service'), [
      'Deployment/notification-service',
      'Service/notification-service',
    ]);
    assert.match(
      JSON.stringify(objects.production['apps/Deployment/production/notification-service']),
      /"failureThreshold":5/,
    );
    for (const environment of ['staging', 'production'] as const) {
      const base = await renderKubernetes(
        { manifests: `deploy/search-service/${environment}` },
        { repoDir: r.repo.dir, commit: r.repo.base, namespace: environment },
      );
      const expected = base.map((x) => ({
        ...x.object,
        metadata: {
          ...x.object.metadata,
          labels: { ...x.object.metadata.labels, 'airlock.dev/service': 'search-service' },
        },
      }));
      for (const o of expected)
        assert.deepEqual(
          objects[environment][
            `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}/${environment}/${o.metadata.name}`
          ],
          o,
        );
      assert.deepEqual(ofService(environment, 'search-service'), [
        'Deployment/search-service',
        'Service/search-service',
      ]);
      assert.match(JSON.stringify(expected), /"memory":"512Mi"/);
      assert.equal(r.rolledBack.restoredExactly[environment], true);
    }
    assert.match(output, /^ {2}production: the objects equal the snapshot from before the change, exactly/m);
    assert.match(output, /^ {2}staging: the objects equal the snapshot from before the change, exactly/m);

    // The Web UI's view: the custom search attributes are kept current to the end.
    assert.deepEqual(
      await listIds(
        `AirlockService = "notification-service" AND AirlockOutcome = "promoted" AND AirlockStage = "ended"`,
        1,
      ),
      [r.promoted.workflowId],
    );
    assert.deepEqual(await listIds(`AirlockService = "search-service" AND AirlockOutcome = "rolled_back"`, 1), [
      r.rolledBack.workflowId,
    ]);

    // After the demo no worker polls its task queue: `airlock status` (the real command, compiled)
    // still prints each outcome from the server's record, in under 5 s, with no stack trace.
    for (const [id, outcome] of [
      [r.promoted.workflowId, 'promoted'],
      [r.rolledBack.workflowId, 'rolled_back'],
    ] as const) {
      const started = Date.now();
      const out = await promisify(execFile)(
        process.execPath,
        [resolve(__dirname, '../../bin/airlock.js'), 'status', id],
        { env: process.env, encoding: 'utf8' },
      );
      const ms = Date.now() - started;
      assert.ok(ms < 5_000, `airlock status ${id} took ${ms} ms`);
      assert.match(out.stdout, new RegExp(`stage +ended → ${outcome}`));
      assert.equal(out.stderr, '');
    }
  });

  test('an approval Update during the bake is refused at once with the stage and the time left, and changes nothing', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      for (let i = 0; i < 100 && (await state(h)).stage !== 'baking'; i++) await new Promise((r) => setTimeout(r, 100));
      const before = await state(h);
      assert.equal(before.stage, 'baking');
      assert.equal(before.shortBake, true);
      await assert.rejects(
        h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] }),
        (err: unknown) => {
          assert.ok(err instanceof WorkflowUpdateFailedError);
          assert.match(
            String((err.cause as Error).message),
            /not awaiting approval: stage is baking; bake ends in (59m \d\ds|1h 00m) /,
          );
          return true;
        },
      );
      const afterRefusal = await state(h);
      assert.deepEqual(afterRefusal.approvals, []);
      assert.deepEqual(await listIds(`WorkflowId = "${h.workflowId}" AND AirlockStage = "baking"`, 1), [h.workflowId]);
      await h.cancel();
    });
  });
});
