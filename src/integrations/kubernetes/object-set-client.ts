// The requests an object set sends, each by identity, in exact JSON (kubernetes-raw), retried on
// transient failures and classified (kubernetes-errors) so a 400/422 names the object and the
// server's reason and is not retried. Paths come from the API server's discovery documents.
import type { KubeConfig } from '@kubernetes/client-node';
import { withRetry, type RetryOptions } from './kubernetes-errors';
import { sendRawJson, type RawRequest } from './kubernetes-raw';
import { describeId, FIELD_MANAGER, ObjectRejectedError, type Json, type ObjectId } from './object-set';

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export interface ResourceInfo {
  /** The resource's plural, e.g. deployments. */
  plural: string;
  namespaced: boolean;
}

export interface ObjectSetClient {
  resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo>;
  /** The object exactly as served, or null when there is none. */
  get(id: ObjectId, signal?: AbortSignal): Promise<Json | null>;
  /** Server-side apply by FIELD_MANAGER with force; `dryRun` persists nothing. */
  apply(object: Json, id: ObjectId, o: { dryRun?: boolean; signal?: AbortSignal }): Promise<Json>;
  /**
   * Reads the object and writes `compute(live)` whole: PUT over the live object (with its
   * resourceVersion, so a concurrent writer yields 409 and a fresh read on the next attempt), or
   * POST when there is none.
   */
  put(id: ObjectId, compute: (live: Json | null) => Json, signal?: AbortSignal): Promise<Json>;
  /** Deletes with foreground propagation (dependents first); false when it was already gone. */
  remove(id: ObjectId, signal?: AbortSignal): Promise<boolean>;
  /** Objects of one kind in `namespace` matching `labelSelector`. */
  list(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector: string,
    signal?: AbortSignal,
  ): Promise<Json[]>;
}

const apiRoot = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
const isNotFound = (err: unknown) => (err as { code?: number }).code === 404;

export function createObjectSetClient(kc: KubeConfig, retry?: RetryOptions): ObjectSetClient {
  const discovery = new Map<string, Promise<ApiResource[]>>();
  const send = <T>(verb: string, what: string, r: Omit<RawRequest, 'signal'>, signal?: AbortSignal) =>
    withRetry(verb, what, (attempt) => sendRawJson<T>(kc, { ...r, signal: attempt }), retry, signal);
  /** As send, but a 404 answers `absent` (checked per attempt, before the error is classified). */
  const sendOr = <T, A>(verb: string, what: string, r: Omit<RawRequest, 'signal'>, absent: A, signal?: AbortSignal) =>
    withRetry(
      verb,
      what,
      (attempt) =>
        sendRawJson<T>(kc, { ...r, signal: attempt }).catch((err: unknown) => {
          if (isNotFound(err)) return absent;
          throw err;
        }),
      retry,
      signal,
    );

  const resource = async (apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo> => {
    let resources = discovery.get(apiVersion);
    if (!resources) {
      // An API group the server does not serve at all answers 404: no resources.
      resources = sendOr<{ resources: ApiResource[] }, { resources: ApiResource[] }>(
        'discover',
        apiVersion,
        { method: 'GET', path: apiRoot(apiVersion) },
        { resources: [] },
        signal,
      ).then((list) => list.resources.filter((r) => !r.name.includes('/')));
      discovery.set(apiVersion, resources);
      // A failed discovery must not stick: the next call asks again.
      resources.catch(() => discovery.delete(apiVersion));
    }
    const found = (await resources).find((r) => r.kind === kind);
    if (!found)
      throw new ObjectRejectedError(`kubernetes: kind ${kind} of ${apiVersion} is not served by this API server`);
    return { plural: found.name, namespaced: found.namespaced };
  };

  const collection = async (apiVersion: string, kind: string, namespace: string, signal?: AbortSignal) => {
    const r = await resource(apiVersion, kind, signal);
    return `${apiRoot(apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  };
  const path = async (id: ObjectId, signal?: AbortSignal) =>
    `${await collection(id.apiVersion, id.kind, id.namespace, signal)}/${encodeURIComponent(id.name)}`;

  return {
    resource,

    async get(id, signal) {
      return sendOr<Json, null>('read', describeId(id), { method: 'GET', path: await path(id, signal) }, null, signal);
    },

    async apply(object, id, o) {
      return send<Json>(
        o.dryRun ? 'dry-run apply' : 'apply',
        describeId(id),
        {
          method: 'PATCH',
          path: await path(id, o.signal),
          // force: Airlock is the deploy authority for the fields of its render, whoever wrote them before.
          query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: o.dryRun ? 'All' : undefined },
          contentType: 'application/apply-patch+yaml',
          body: object,
        },
        o.signal,
      );
    },

    async put(id, compute, signal) {
      const item = await path(id, signal);
      const items = await collection(id.apiVersion, id.kind, id.namespace, signal);
      return withRetry(
        'restore',
        describeId(id),
        async (attempt) => {
          const live = await sendRawJson<Json>(kc, { method: 'GET', path: item, signal: attempt }).catch(
            (err: unknown) => {
              if (isNotFound(err)) return null;
              throw err;
            },
          );
          const rv = (live?.metadata as Json | undefined)?.resourceVersion as string | undefined;
          const body = compute(live);
          const metadata = { ...(body.metadata as Json), resourceVersion: rv };
          const query = { fieldManager: FIELD_MANAGER };
          return live
            ? sendRawJson<Json>(kc, { method: 'PUT', path: item, query, body: { ...body, metadata }, signal: attempt })
            : sendRawJson<Json>(kc, { method: 'POST', path: items, query, body, signal: attempt });
        },
        retry,
        signal,
      );
    },

    async remove(id, signal) {
      const body = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' };
      const p = await path(id, signal);
      const gone = await sendOr<Json, null>(
        'delete',
        describeId(id),
        { method: 'DELETE', path: p, body },
        null,
        signal,
      );
      return gone !== null;
    },

    async list(apiVersion, kind, namespace, labelSelector, signal) {
      const p = await collection(apiVersion, kind, namespace, signal);
      const items: Json[] = [];
      let token: string | undefined;
      do {
        const page = await send<{ items?: Json[]; metadata?: { continue?: string } }>(
          'list',
          `${kind} in ${namespace} (${labelSelector})`,
          { method: 'GET', path: p, query: { labelSelector, limit: '500', continue: token } },
          signal,
        );
        // Items of a list carry no apiVersion/kind: put them back so each is a whole object.
        for (const item of page.items ?? []) items.push({ apiVersion, kind, ...item });
        token = page.metadata?.continue || undefined;
      } while (token);
      return items;
    },
  };
}
