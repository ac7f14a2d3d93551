// The diff of an object set: what a server-side apply of the render would change, computed by the
// API server itself (dry-run apply, so defaults, admission and validation all count), per object
// and as a unified YAML diff a human approves, literal env values redacted (env-redaction.ts). The
// digest binds an approval to the diff with the values: a changed value changes the digest.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { createObjectSetClient } from './object-set-client';
import { liveObjectsNotDesired } from './object-set-live';
import { inApplyOrder } from './object-set-order';
import { scopeObjectSet } from './object-set-scope';
import { refuseSecrets } from './object-set-snapshot';
import { isCanarySupport } from './object-set-canary';
import { envValuesOf, redactEnvValues } from './env-redaction';
import { stripServerFields, withoutJobIdentity } from './object-set-strip';
import {
  describeId,
  idKey,
  idOf,
  ObjectRejectedError,
  SERVICE_LABEL,
  withSource,
  type Json,
  type ObjectId,
  type ObjectSet,
} from './object-set';

export type ObjectAction = 'create' | 'update' | 'unchanged' | 'delete';

/** One object's change; `before`/`after` without server-managed fields (see stripServerFields). */
export interface ObjectDiff {
  id: ObjectId;
  action: ObjectAction;
  /** Live now (absent for create). */
  before?: Json;
  /** As the API server would store it (absent for delete). */
  after?: Json;
}

export interface ObjectSetDiff {
  namespace: string;
  service: string;
  /** In apply order; deletions last. */
  objects: ObjectDiff[];
  /** Unified diff of every changed object, YAML with sorted keys, env values redacted; empty when nothing changes. */
  text: string;
  /**
   * sha256 (hex) of the same diff with the env values: the same render on the same live state gives
   * the same digest, and a value that changes changes it.
   */
  digest: string;
}

/**
 * Fields the server allocates anew on every create (a dry-run create included): shown, they would
 * make the diff, and its digest, differ on every computation of the same change.
 */
function withoutAllocatedFields(after: Json, desired: Json): Json {
  const copy = withoutJobIdentity(after);
  const spec = copy.spec as Json | undefined;
  const wanted = (desired.spec ?? {}) as Json;
  if (copy.kind === 'Service' && spec) {
    if (wanted.clusterIP === undefined) delete spec.clusterIP;
    if (wanted.clusterIPs === undefined) delete spec.clusterIPs;
  }
  return copy;
}

const yamlOf = (o: Json | undefined) => (o ? stringify(o, { sortMapEntries: true }) : '');

/**
 * The unified diff of one changed object; /dev/null on the side where it does not exist. Env values
 * are redacted unless `withEnvValues` (the text the digest is computed over, never shown).
 */
export function patchOf(d: ObjectDiff, o: { withEnvValues?: boolean } = {}): string {
  const name = `${d.id.kind}/${d.id.namespace}/${d.id.name}`;
  const before = o.withEnvValues ? d.before : redactEnvValues(d.before);
  const after = o.withEnvValues ? d.after : redactEnvValues(d.after, d.before ? envValuesOf(d.before) : undefined);
  return createTwoFilesPatch(
    d.before ? `a/${name}` : '/dev/null',
    d.after ? `b/${name}` : '/dev/null',
    yamlOf(before),
    yamlOf(after),
    undefined,
    undefined,
    { context: 3 },
  );
}

/** What approvers read (env values redacted) and the digest of the whole diff (values included). */
export function diffTextAndDigest(objects: ObjectDiff[]): { text: string; digest: string } {
  const changed = objects.filter((d) => d.action !== 'unchanged');
  const full = changed.map((d) => patchOf(d, { withEnvValues: true })).join('');
  return { text: changed.map((d) => patchOf(d)).join(''), digest: createHash('sha256').update(full).digest('hex') };
}

/** Refuses to take over an object that another service's object set owns. */
function checkOwner(set: ObjectSet, id: ObjectId, live: Json | null): void {
  const owner = ((live?.metadata as Json | undefined)?.labels as Record<string, string> | undefined)?.[SERVICE_LABEL];
  if (owner !== undefined && owner !== set.service)
    throw new ObjectRejectedError(
      `kubernetes: ${describeId(id)} is live with ${SERVICE_LABEL}=${owner}: it belongs to another service, ${set.service} may not change it`,
    );
}

export interface DiffOptions {
  signal?: AbortSignal;
  /**
   * Objects the change removes whether or not they carry the service's label (the base rendered
   * them, the head does not): shown as deletions when live, as the rollout will delete them.
   */
  removed?: ObjectId[];
}

/** Render vs live, by server-side dry-run apply; no object is changed. */
export async function diffObjects(kc: KubeConfig, set: ObjectSet, o: DiffOptions = {}): Promise<ObjectSetDiff> {
  const client = createObjectSetClient(kc);
  const scoped = await scopeObjectSet(client, set, o.signal);
  const objects: ObjectDiff[] = [];
  for (const s of scoped) {
    const live = await client.get(s.id, o.signal);
    checkOwner(set, s.id, live);
    const dryRun = await client.apply(s.body, s.id, { dryRun: true, signal: o.signal }).catch((err: unknown) => {
      throw withSource(err, s.source);
    });
    const after = stripServerFields(dryRun);
    // A support object the canary applied ahead of the rollout is shown as the creation it still is.
    if (!live || isCanarySupport(live)) {
      objects.push({ id: s.id, action: 'create', after: withoutAllocatedFields(after, s.body) });
      continue;
    }
    const before = stripServerFields(live);
    objects.push({ id: s.id, action: isDeepStrictEqual(before, after) ? 'unchanged' : 'update', before, after });
  }
  const gone = await liveObjectsNotDesired(
    client,
    set,
    scoped.map((s) => s.id),
    o.signal,
  );
  const listed = new Set([...scoped.map((s) => s.id), ...gone.map((g) => idOf(g))].map(idKey));
  refuseSecrets(o.removed ?? []); // their data would be in the diff, i.e. in Temporal history
  for (const id of o.removed ?? []) {
    // Only in the set's namespace: nothing elsewhere is ever deleted.
    if (id.namespace !== set.namespace || listed.has(idKey(id))) continue;
    listed.add(idKey(id));
    const live = await client.get(id, o.signal);
    checkOwner(set, id, live); // another service's object is never deleted for this one
    if (live) gone.push({ apiVersion: id.apiVersion, kind: id.kind, ...live });
  }
  for (const live of inApplyOrder(gone, (g) => idOf(g)).reverse())
    objects.push({ id: idOf(live), action: 'delete', before: stripServerFields(live) });
  return { namespace: set.namespace, service: set.service, objects, ...diffTextAndDigest(objects) };
}
