// 4. History size of one full promotion on the time-skipping server: the real 24 h bake, a
// 30-minute canary, two signed approvals, a 30-minute production watch, and an error-rate sample
// signalled every `sampleMinutes` minutes of workflow time, the way a monitoring bridge would.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { signedRequest } from '../src/approvals/signed-request';
import { startPromotion } from '../src/promotion-client';
import { approveUpdate, errorRateSignal, stateQuery, type PromotionState } from '../src/workflows/messages';
import { testSecretKey } from '../test/helpers/approver-keys';
import { eventCounts, fetchHistory, historyBytes } from './lib/history';
import { serviceName } from './lib/policy';
import { airlockRig } from './lib/rig';

export interface HistorySizeResult {
  sampleMinutes: number;
  samplesSent: number;
  outcome: string;
  events: number;
  bytes: number;
  eventsByType: Record<string, number>;
}

export async function benchHistorySize(env: TestWorkflowEnvironment, sampleMinutes: number): Promise<HistorySizeResult> {
  const rig = await airlockRig(env, {
    services: 1,
    bakeHours: 24,
    canaryMinutes: 30,
    productionWatchMinutes: 30,
    maxSilenceMinutes: Math.max(10, 2 * sampleMinutes),
    maxServicesInFlight: 1,
    maxStartsPerHour: 5,
  });
  return rig.worker.runUntil(async () => {
    const change = { service: serviceName(0), commit: 'b'.repeat(40), author: 'airlock-agent[bot]', version: 'v2' };
    const { workflowId } = await startPromotion(env.client, change, { taskQueue: rig.taskQueue, slotWorkflowId: rig.slotWorkflowId });
    const h = env.client.workflow.getHandle(workflowId);
    let samples = 0;
    let s: PromotionState = await h.query(stateQuery);
    let approved = false;
    for (let step = 0; s.stage !== 'ended'; step++) {
      if (step > 10_000) throw new Error(`history-size: promotion still ${s.stage} after ${step} steps`);
      if (s.deployed.length) {
        const environment = s.deployed.includes('production') ? 'production' : 'staging';
        const observedAt = new Date(await env.currentTimeMs()).toISOString();
        await h.signal(errorRateSignal, { environment, rate: 0.01, baseline: 0.01, requestCount: 1000, observedAt });
        samples++;
      }
      if (s.stage === 'awaiting_approval' && !approved) {
        for (const approver of ['alice', 'bob']) {
          const now = await env.currentTimeMs();
          await h.executeUpdate(approveUpdate, { args: [signedRequest('approve', { workflowId, approver, secretKey: testSecretKey(approver), now, text: 'bench' })] });
        }
        approved = true;
      }
      await env.sleep(`${sampleMinutes} minutes`);
      s = await h.query(stateQuery);
    }
    const hist = await fetchHistory(env.client, workflowId);
    const events = hist.events?.length ?? 0;
    return { sampleMinutes, samplesSent: samples, outcome: s.outcome ?? '?', events, bytes: historyBytes(hist), eventsByType: eventCounts(hist) };
  });
}
