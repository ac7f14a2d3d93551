// `service | workflow-id` → the workflow id of that promotion (src/client/promotion-target.ts), with
// the CLI's exit codes for what goes wrong.
import type { Client } from '@temporalio/client';
import { resolveWorkflowId as resolve, type TargetOptions } from '../client/promotion-target';
import { toCliError } from './temporal-errors';

export async function resolveWorkflowId(client: Client, target: string, o: TargetOptions = {}): Promise<string> {
  try {
    return await resolve(client, target, o);
  } catch (err) {
    throw toCliError(err, target);
  }
}
