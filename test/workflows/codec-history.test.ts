// Secrets out of history (issue 15, item 9): with the codec on, a promotion's history read through
// the raw Temporal API (no codec) holds no env value of a snapshot and no approval signature, while
// the codec's clients read state, results and recorded snapshots as before, and a rollback
// restores the snapshot's literal values exactly.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Payload } from '@temporalio/common';
import { createRig, atRate, feed, timeSkippingEnv, untilStage, type Rig } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { approveUpdate, type ApprovalRequest, type PromotionResult } from '../../src/workflows/messages';
import type { EnvironmentSnapshot } from '../../src/integrations/deployer';
import type { SimulatedDeployer } from '../../src/integrations/simulation/simulated-deployer';
import { loadCodecConfig } from '../../src/codec/codec-keys';
import { createDataConverter } from '../../src/codec/data-converter';
import { readPromotion } from '../../src/client/promotion-view';
import { readRecordedRollback } from '../../src/client/recorded-rollback';

const ENV_VALUE = `db-password-${randomBytes(8).toString('hex')}`;
const codec = loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` });
const dataConverter = createDataConverter(codec);

/** A pod template as the Kubernetes deployer records it: a literal env value in it. */
const TEMPLATE = { spec: { containers: [{ name: 'app', env: [{ name: 'DB_PASSWORD', value: ENV_VALUE }] }] } };

/** The simulated deployer, recording the pod template in its snapshots and the restores it is asked for. */
function withTemplates(d: SimulatedDeployer, restored: EnvironmentSnapshot[]) {
  return {
    ...d,
    kind: d.kind,
    async snapshot(...a: Parameters<SimulatedDeployer['snapshot']>) {
      const s = await d.snapshot(...a);
      return { ...s, stable: s.stable && { ...s.stable, template: TEMPLATE } };
    },
    async restore(s: EnvironmentSnapshot, o?: Parameters<SimulatedDeployer['restore']>[1]) {
      restored.push(s);
      return d.restore(s, o);
    },
  };
}

/** Every byte the server stores for the workflow, as the raw API (no codec) returns it. */
async function rawHistory(env: TestWorkflowEnvironment, workflowId: string) {
  const r = await env.client.workflowService.getWorkflowExecutionHistory({
    namespace: env.namespace ?? 'default',
    execution: { workflowId },
  });
  const history = temporal.api.history.v1.History.create({ events: r.history?.events ?? [] });
  return { events: history.events, bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()) };
}

/** Every payload of the events (inputs, results, signals, updates, details…), found by shape, with its path. */
function payloadsOf(value: unknown, path = '', found: Array<{ path: string; payload: Payload }> = []) {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const o = value as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') found.push({ path, payload: o });
  else for (const [k, v] of Object.entries(o)) payloadsOf(v, `${path}.${k}`, found);
  return found;
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

async function approved(h: WorkflowHandle, approver: string): Promise<ApprovalRequest> {
  const a = await signedApproval(env, h, approver);
  await h.executeUpdate(approveUpdate, { args: [a] });
  return a;
}

describe('payload codec on a real Temporal server', () => {
  test('a promoted run: the raw history has no env value and no signature in clear; the codec client reads it all', async () => {
    const restored: EnvironmentSnapshot[] = [];
    const rig: Rig = createRig(env, { dataConverter, wrapDeployer: (d) => withTemplates(d, restored) });
    await rig.run(async () => {
      const h = await rig.start({ title: `rotate ${ENV_VALUE}` });
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      const approvals = [await approved(h, 'alice'), await approved(h, 'bob')];
      await feed(env, h, { stop: () => false });
      const result: PromotionResult = await h.result();
      expect(result.outcome).toBe('promoted');

      const raw = await rawHistory(env, h.workflowId);
      const secrets = [ENV_VALUE, ...approvals.map((a) => a.signature!.value)];
      expect(secrets.every((x) => x.length >= 20)).toBe(true);
      for (const secret of secrets) {
        expect(raw.bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
        expect(raw.bytes.includes(Buffer.from(secret, 'utf8').toString('base64'))).toBe(false);
      }
      // Every payload is encrypted but the two kinds Temporal must read: search attributes (the
      // server indexes them; Airlock's hold service, commit, stage and outcome) and the SDK's
      // patch markers (a patch id).
      const clear = payloadsOf(raw.events).filter(
        (p) => Buffer.from(p.payload.metadata!.encoding ?? []).toString() !== 'binary/encrypted',
      );
      expect(payloadsOf(raw.events).length).toBeGreaterThan(20);
      for (const { path } of clear)
        expect(path).toMatch(
          /\.(searchAttributes\.indexedFields\.\w+|markerRecordedEventAttributes\.details\.patch-data\.payloads\.\d+)$/,
        );

      // The codec's client: state, recorded snapshots (what a compensation restores), all in clear.
      const view = await readPromotion(rig.client, h.workflowId);
      expect(view.state.stage).toBe('ended');
      expect(view.state.change.title).toBe(`rotate ${ENV_VALUE}`);
      const recorded = await readRecordedRollback(rig.client, h.workflowId);
      expect(recorded.change.title).toContain(ENV_VALUE);
      // Without the codec, the same read fails instead of showing anything.
      await expect(readRecordedRollback(env.client, h.workflowId)).rejects.toThrow(/binary\/encrypted/);
      expect(restored).toEqual([]);
    });
  });

  test.each([
    ['on', true],
    ['off (the control: the same search finds the value in clear)', false],
  ])('a rollback restores the literal env values the snapshot recorded, codec %s', async (_, on) => {
    const restored: EnvironmentSnapshot[] = [];
    const rig = createRig(env, { ...(on ? { dataConverter } : {}), wrapDeployer: (d) => withTemplates(d, restored) });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking') });
      await feed(env, h, { counts: atRate(0.5), stop: () => false });
      expect((await h.result()).outcome).toBe('rolled_back');
      expect(restored.length).toBeGreaterThan(0);
      for (const s of restored) expect(s.stable?.template).toEqual(TEMPLATE);
      expect((await rawHistory(env, h.workflowId)).bytes.includes(Buffer.from(ENV_VALUE))).toBe(!on);
    });
  });
});
