// Deleting objects of a set (pruning, or restoring a state without them): dependents first
// (foreground), in delete order, and only done once each is gone: pods of a deleted Deployment
// that still serve behind the stable Service are not "gone".
import { sleep, throwIfAborted } from '../cancellation';
import { DeployRejectedError } from '../deployer';
import type { ObjectSetClient } from './object-set-client';
import { inDeleteOrder } from './object-set-order';
import { describeId, type ObjectId } from './object-set';

export interface DeletionOptions {
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** Deletes `ids` in delete order and waits until none is left; returns those that existed. */
export async function deleteObjects(client: ObjectSetClient, ids: ObjectId[], o: DeletionOptions): Promise<ObjectId[]> {
  const deleted: ObjectId[] = [];
  for (const id of inDeleteOrder(ids, (i) => i)) if (await client.remove(id, o.signal)) deleted.push(id);
  const deadline = Date.now() + o.timeoutMs;
  let left = deleted;
  for (;;) {
    const still: ObjectId[] = [];
    for (const id of left) if (await client.get(id, o.signal)) still.push(id);
    throwIfAborted(o.signal);
    if (!still.length) return deleted;
    const names = still.map(describeId).join(', ');
    o.onProgress?.(`waiting for ${names} to be deleted`);
    if (Date.now() >= deadline)
      throw new DeployRejectedError(`kubernetes: ${names} still terminating after ${Math.round(o.timeoutMs / 1000)} s`);
    left = still;
    await sleep(o.pollMs ?? 1_000, o.signal);
  }
}
