// `airlock status [service|workflow-id] [--watch]`: the state query, rendered or as JSON.
import type { Client } from '@temporalio/client';
import { stateQuery, type PromotionState } from '../workflows/messages';
import { ExitCode } from './errors';
import { renderStatus } from '../client/render-status';
import { resolveWorkflowId } from './resolve-target';
import { toCliError } from './temporal-errors';

export async function promotionState(client: Client, target: string): Promise<PromotionState> {
  const workflowId = await resolveWorkflowId(client, target);
  try {
    return await client.workflow.getHandle(workflowId).query(stateQuery);
  } catch (err) {
    throw toCliError(err, workflowId);
  }
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
  const out = o.out ?? ((t: string) => process.stdout.write(`${t}\n`));
  const workflowId = await resolveWorkflowId(client, target);
  for (;;) {
    const s = await promotionState(client, workflowId);
    out(o.json ? JSON.stringify(s) : renderStatus(s));
    if (!o.watch) return ExitCode.Ok;
    if (s.stage === 'ended') return s.outcome === 'promoted' ? ExitCode.Ok : ExitCode.NotPromoted;
    if (o.signal?.aborted) return ExitCode.Ok;
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 2000));
    if (!o.json) out('');
  }
}
