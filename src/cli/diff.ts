// `airlock diff <target>`: the whole production diff and Terraform plans a promotion asks approval
// for (status shows them cut short). Read from the promotion's history, so it works after the
// promotion ended and while no worker runs.
import type { Client } from '@temporalio/client';
import { readProductionChange, renderProductionChange, type RecordedPreview } from '../client/production-change';
import { CliError, ExitCode } from './errors';
import { resolveWorkflowId } from './resolve-target';
import { toCliError } from './temporal-errors';

export async function productionDiff(
  client: Client,
  target: string,
): Promise<{ workflowId: string; preview: RecordedPreview }> {
  const workflowId = await resolveWorkflowId(client, target, { ended: 'latest' });
  let preview: RecordedPreview | undefined;
  try {
    preview = await readProductionChange(client, workflowId);
  } catch (err) {
    throw toCliError(err, workflowId);
  }
  if (!preview)
    throw new CliError(
      `diff: ${workflowId} has no production change to show: it has not reached awaiting_approval, or its service deploys an image tag (the change is its version)`,
      ExitCode.NotFound,
    );
  return { workflowId, preview };
}

export { renderProductionChange };
