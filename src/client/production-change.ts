// The full production change a promotion showed its approvers: the state carries it cut at
// PREVIEW_CHARS, and the `previewChange` activity's result in history carries all of it, exactly
// as digested. The newest preview wins: a drift after approval computes a new one.
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { ChangePreview } from '../integrations/deployer';
import { fetchRunHistories } from './run-histories';

export interface RecordedPreview extends ChangePreview {
  /** When the preview was computed (the activity's completion). */
  at?: string;
  /** How many previews the promotion computed (more than one: production drifted, or it was asked again). */
  previews: number;
}

export async function readProductionChange(client: Client, workflowId: string): Promise<RecordedPreview | undefined> {
  const converter = client.options.loadedDataConverter;
  const runs = await fetchRunHistories(client, workflowId);
  let newest: RecordedPreview | undefined;
  let previews = 0;
  for (const events of runs) {
    const previewIds = new Set<string>();
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'previewChange')
        previewIds.add(String(e.eventId));
      const c = e.activityTaskCompletedEventAttributes;
      if (!c || !previewIds.has(String(c.scheduledEventId))) continue;
      const [result] = (await decodeArrayFromPayloads(converter, c.result?.payloads)) as (ChangePreview | undefined)[];
      if (!result) continue; // an image-tag deployer: nothing to show
      previews++;
      const seconds = Number(e.eventTime?.seconds ?? 0);
      newest = { ...result, previews, ...(seconds ? { at: new Date(seconds * 1000).toISOString() } : {}) };
    }
  }
  return newest && { ...newest, previews };
}

/** The text `airlock diff` prints: what approvers approve, whole, with its digest and notes. */
export function renderProductionChange(workflowId: string, p: RecordedPreview): string {
  return [
    `# production change of ${workflowId}`,
    `# digest ${p.digest} (approvals sign it)${p.at ? `, computed ${p.at}` : ''}${p.previews > 1 ? `, preview ${p.previews} of ${p.previews}: production changed or it was asked again` : ''}`,
    ...p.notes.map((n) => `# NOTE ${n}`),
    p.text,
  ].join('\n');
}
