// Applying an object set: server-side apply of each object in apply order (field manager
// "airlock", force), pruning of the service's labelled objects the render no longer has, then the
// wait until every workload is ready. A dry run of every object goes first, so an object the API
// server refuses (400/422: ObjectRejectedError naming it and the server's message) leaves the
// namespace untouched.
//
// Cancellation: `signal` stops it at once (no further request, retry or poll; rejects with the
// abort reason). An apply already sent may take effect: the caller restores its snapshot.
import type { KubeConfig } from '@kubernetes/client-node';
import { createObjectSetClient } from './object-set-client';
import { deleteObjects } from './object-set-deletion';
import { liveObjectsNotDesired } from './object-set-live';
import { scopeObjectSet, type ScopedObject } from './object-set-scope';
import { waitForWorkloads } from './workload-readiness';
import { idOf, withSource, type ObjectId, type ObjectSet, type ObjectSetCallOptions } from './object-set';

export interface ApplyOptions extends ObjectSetCallOptions {
  /** How long workloads may take to become ready (and pruned objects to go). Default 10 min. */
  timeoutMs?: number;
  pollMs?: number;
  /**
   * Delete the service's labelled objects absent from `desired` (default true). False for a set
   * applied beside the render, e.g. the canary Deployments of canaryObjects.
   */
  prune?: boolean;
}

export interface ApplyResult {
  applied: ObjectId[];
  pruned: ObjectId[];
}

/** Runs `fn` over `items`, `size` at a time. */
async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function applyObjects(kc: KubeConfig, set: ObjectSet, o: ApplyOptions = {}): Promise<ApplyResult> {
  const client = createObjectSetClient(kc);
  const wait = { timeoutMs: o.timeoutMs ?? 10 * 60_000, pollMs: o.pollMs, signal: o.signal, onProgress: o.onProgress };
  const scoped = await scopeObjectSet(client, set, o.signal);
  // Every object past validation and admission first (a dry run persists nothing): a render with
  // one invalid object changes nothing at all. Concurrent, as nothing is written.
  const apply = (s: ScopedObject, dryRun: boolean) =>
    client.apply(s.body, s.id, { dryRun, signal: o.signal }).catch((err: unknown) => {
      throw withSource(err, s.source);
    });
  await inBatches(scoped, 8, (s) => apply(s, true));
  for (const s of scoped) await apply(s, false);
  const applied = scoped.map((s) => s.id);
  const pruned =
    o.prune === false
      ? []
      : await deleteObjects(
          client,
          (await liveObjectsNotDesired(client, set, applied, o.signal)).map((l) => idOf(l)),
          wait,
        );
  await waitForWorkloads(client, applied, wait);
  return { applied, pruned };
}
