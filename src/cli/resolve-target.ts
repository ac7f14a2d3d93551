// `service | workflow-id` → the workflow id of that promotion.
import type { Client } from '@temporalio/client';
import { CliError, ExitCode } from './errors';

const SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export async function resolveWorkflowId(client: Client, target: string): Promise<string> {
  if (target.startsWith('promotion-')) return target;
  // Validated before it goes into a visibility query: no query injection through a service name.
  if (!SERVICE.test(target)) throw new CliError(`"${target}" is neither a promotion id (promotion-…) nor a service name`, ExitCode.Usage);
  const ids: string[] = [];
  const query = `WorkflowType = 'promotion' AND AirlockService = '${target}' AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
  if (ids.length === 0) throw new CliError(`no promotion of service "${target}" is in flight`, ExitCode.NotFound);
  if (ids.length > 1) throw new CliError(`service "${target}" has ${ids.length} promotions in flight; name one: ${ids.join(', ')}`, ExitCode.Usage);
  return ids[0];
}
