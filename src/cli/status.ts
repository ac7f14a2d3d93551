// `airlock status [service|workflow-id] [--watch]`: one promotion, rendered or as JSON. Ended
// promotions and promotions whose worker is down are shown from the server's record
// (src/client/promotion-view.ts), so status never waits on a worker that is not there.
import type { Client } from '@temporalio/client';
import { readPromotion, type PromotionView } from '../client/promotion-view';
import { renderView } from '../client/render-status';
import type { PromotionState } from '../workflows/messages';
import { ExitCode } from './errors';
import { safeLineWriter } from '../common/terminal-safe';
import { resolveWorkflowId } from './resolve-target';
import { toCliError } from './temporal-errors';

export async function promotionView(client: Client, target: string): Promise<PromotionView> {
  const workflowId = await resolveWorkflowId(client, target, { ended: 'latest' });
  try {
    return await readPromotion(client, workflowId);
  } catch (err) {
    throw toCliError(err, workflowId);
  }
}

export async function promotionState(client: Client, target: string): Promise<PromotionState> {
  return (await promotionView(client, target)).state;
}

export interface StatusOptions {
  json?: boolean;
  watch?: boolean;
  intervalMs?: number;
  out?: (text: string) => void;
  /** Stops a watch early (tests, Ctrl-C). */
  signal?: AbortSignal;
}

/** Returns the exit code: with --watch, 0 once promoted and NotPromoted for any other ending. */
export async function status(client: Client, target: string, o: StatusOptions = {}): Promise<number> {
  const out = o.out ?? safeLineWriter(process.stdout);
  const workflowId = await resolveWorkflowId(client, target, { ended: 'latest' });
  for (;;) {
    const view = await promotionView(client, workflowId);
    const s = view.state;
    out(
      o.json
        ? JSON.stringify(o.watch ? s : { ...s, ...(view.notice ? { notice: view.notice } : {}) })
        : renderView(view),
    );
    const closed = view.executionStatus !== 'RUNNING';
    if (!o.watch) return ExitCode.Ok;
    if (s.stage === 'ended' || closed) return s.outcome === 'promoted' ? ExitCode.Ok : ExitCode.NotPromoted;
    if (o.signal?.aborted) return ExitCode.Ok;
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 2000));
    if (!o.json) out('');
  }
}
