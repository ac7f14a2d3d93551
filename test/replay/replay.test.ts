// Replays the recorded histories (test/replay/histories, `npm run record-histories`) against the
// current workflow code: an edit that would break promotions in flight fails here, not in production.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { defaultPayloadConverter } from '@temporalio/common';
import type { PromotionResult } from '../../src/workflows/messages';
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
  // Promotions that continued as new: the run that continued and the runs that resumed.
  // Each recording (continue-as-new, slot-v2, ...) is its own chain of runs.
  for (const n of ['promoted-across-runs', 'rolled-back-across-runs']) {
    const runNumber = (name: string) => Number(/\.run-(\d+)\./.exec(name)?.[1]);
    const recordingOf = (name: string) => name.replace(/^.*\.run-\d+\./, '').replace(/\.json$/, '');
    const chained = fixtures.filter((f) => f.name.startsWith(`${n}.run-`));
    const recordings = new Set(chained.map((f) => recordingOf(f.name)));
    assert.ok(recordings.has('continue-as-new'), `missing replay fixtures ${n}.run-<n>.continue-as-new.json`);
    for (const recording of recordings) {
      const runs = chained
        .filter((f) => recordingOf(f.name) === recording)
        .sort((a, b) => runNumber(a.name) - runNumber(b.name));
      assert.ok(runs.length >= 2, `${n} (${recording}): fewer than two runs`);
      assert.ok(
        runs.slice(0, -1).every((f) => continuedAsNew(f.history)),
        `${n} (${recording}) continued`,
      );
      assert.ok(
        runs.slice(1).every((f) => resumed(f.history)),
        `${n} (${recording}) resumed`,
      );
    }
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

test('from reports-outside-handlers on, no report is scheduled inside an Update (between its acceptance and completion)', () => {
  // Every recording made on that code or later.
  const recorded = fixtures.filter((f) => /\.(reports-outside-handlers|production-preview)\.json$/.test(f.name));
  assert.ok(
    recorded.some((f) => f.name === 'promoted.reports-outside-handlers.json'),
    'missing replay fixture promoted.reports-outside-handlers.json (approve Updates)',
  );
  let updates = 0;
  for (const f of recorded) {
    const open = new Set<string>();
    for (const e of f.history.events ?? []) {
      const accepted = e.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId;
      const completed = e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId;
      if (accepted) {
        open.add(e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId ?? accepted);
        updates++;
      }
      if (completed) open.delete(completed);
      const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
      assert.ok(
        !(scheduled === 'reportStage' && open.size),
        `${f.name}: reportStage scheduled (event ${String(e.eventId)}) while Update ${[...open].join(', ')} was open`,
      );
    }
  }
  assert.ok(updates > 0, 'the recordings hold Updates');
});

type History = (typeof fixtures)[number]['history'];
const patchesOf = (h: History) =>
  (h.events ?? [])
    .map((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0])
    .filter((p) => !!p)
    .map((p) => (defaultPayloadConverter.fromPayload(p!) as { id: string }).id);
const signalsOf = (h: History, name: string) =>
  (h.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((a) => a?.signalName === name)
    .map((a) => defaultPayloadConverter.fromPayload(a!.input!.payloads![0]) as Record<string, unknown>);
const resultOf = (h: History) => {
  const p = h.events?.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  return p ? (defaultPayloadConverter.fromPayload(p) as PromotionResult) : undefined;
};
const rateOnly = (s: Record<string, unknown> | undefined) => !!s && 'rate' in s && !('errors' in s);

test('promotions started before counts-only accept rate-only samples to their end; from it on, none is accepted', () => {
  // In flight when counts-only shipped: the replay above proves these still do what they did,
  // a rate-only sample breaching by the per-sample rule among them (also after continue-as-new).
  const legacy = fixtures.filter((f) => !patchesOf(f.history).includes('counts-only'));
  const breachedByRates = legacy.filter((f) => {
    const i = resultOf(f.history)?.interruption;
    return i?.kind === 'breach' && rateOnly(i.sample as unknown as Record<string, unknown>);
  });
  for (const name of [
    'rolled-back-in-bake.insufficient-evidence.json',
    'rolled-back-across-runs.run-4.insufficient-evidence.json',
  ])
    assert.ok(
      breachedByRates.some((f) => f.name === name),
      `${name}: a promotion from before counts-only rolled back by a rate-only sample`,
    );
  // Recorded from counts-only on: the patch is marked, no rate-only sample is sent, and a breach is
  // judged on counts by the sequential test.
  const current = fixtures.filter((f) => f.name.endsWith('.counts-only.json'));
  assert.ok(current.length >= 10, `${current.length} counts-only fixtures`);
  for (const f of current) {
    if (!resumed(f.history)) assert.ok(patchesOf(f.history).includes('counts-only'), `${f.name}: patch counts-only`);
    assert.deepEqual(signalsOf(f.history, 'errorRate').filter(rateOnly), [], f.name);
    const i = resultOf(f.history)?.interruption;
    if (i?.kind === 'breach') assert.match(i.test ?? '', /likelihood ratio/, f.name);
  }
});

const firstEvent = (h: (typeof fixtures)[number]['history']) => h.events?.[0]?.workflowExecutionStartedEventAttributes;
const continuedAsNew = (h: (typeof fixtures)[number]['history']) =>
  !!h.events?.[h.events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes;
const resumed = (h: (typeof fixtures)[number]['history']) => !!firstEvent(h)?.continuedExecutionRunId;

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
  // A promotion from the start, and a run that resumed after continuing as new.
  const promoted = fixtures.find((f) => f.name === 'promoted.json')!;
  const resumedRun = fixtures.find((f) => f.name.startsWith('promoted-across-runs.run-2.'))!;
  for (const f of [promoted, resumedRun]) {
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: drifted }, f.history, f.workflowId),
      DeterminismViolationError,
    );
  }
});
