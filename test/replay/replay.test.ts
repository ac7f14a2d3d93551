// Replays the recorded histories (test/replay/histories, `npm run record-histories`) against the
// current workflow code: an edit that would break promotions in flight fails here, not in production.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from '../helpers/harness';

const dir = join(__dirname, 'histories');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { workflowId: string; history: unknown };
    return { name: f, workflowId: doc.workflowId, history: historyFromJSON(doc.history) };
  });

test('every recorded ending of the stage machine is a fixture', () => {
  const names = fixtures.map((f) => f.name.replace(/\.json$/, ''));
  for (const n of [
    'promoted',
    'rolled-back-in-bake',
    'silence-in-canary',
    'rejected',
    'timed-out',
    'aborted-in-production-watch',
    'blocked',
  ]) {
    assert.ok(names.includes(n), `missing replay fixture ${n}.json`);
    // Recorded again from the current behaviour (promotion v2), beside the older recording.
    assert.ok(names.includes(`${n}.promotion-v2`), `missing replay fixture ${n}.promotion-v2.json`);
  }
  // The slot workflow never ends: its runs from before compensate-ended-holders must replay, and so
  // must the compensation it starts (test/replay/slot-scenarios.ts).
  for (const n of [
    'slot-terminated-holder.slot-v1',
    'slot-terminated-holder.compensate-ended-holders',
    'compensation-terminated-in-bake.compensate-ended-holders',
  ])
    assert.ok(names.includes(n), `missing replay fixture ${n}.json`);
});

test('the current workflow code replays every recorded history deterministically', async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const results = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    fixtures.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of results) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  assert.equal(replayed, fixtures.length);
  assert.deepEqual(failures, []);
});

test('an incompatible edit of the workflow is caught as a determinism violation', async () => {
  const drifted = await bundleWorkflowCode({
    workflowsPath: require.resolve('./drifted-workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const promoted = fixtures.find((f) => f.name === 'promoted.json')!;
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: drifted }, promoted.history, promoted.workflowId),
    DeterminismViolationError,
  );
});
