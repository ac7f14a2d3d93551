// The simulated deployer of the change itself, for `npm start` and the demo when no cluster is
// configured: a service whose policy says how its environments are rendered (kustomize, Helm,
// manifests) has the merge commit rendered with the real tools from the worker's clone, and the
// objects applied to the simulated object store, step by step as change-deployer.ts does on a
// cluster: deploy = the full render with prune of the service's objects; canary = `<name>-canary`
// copies of the Deployments whose pod template changes; promote = the production render, canary
// pruned; snapshot = every object the change may touch, exactly; restore = exactly that. Every
// summary says `[simulated]`. Image-tag services go to the image simulation as before.
//
// A step takes effect when its rollout is ready (after `rolloutMs`); cancelled before then, the
// store keeps the state from before the call and the call rejects with the abort reason.
import { createHash } from 'node:crypto';
import type { Environment } from '../../workflows/messages';
import { environmentSource, type KubernetesSource } from '../../policy/config/environment-source-schema';
import {
  DeployRejectedError,
  type ChangePreview,
  type ChangeRef,
  type Deployer,
  type DeployResult,
  type EnvironmentSnapshot,
} from '../deployer';
import { sleep, throwIfAborted } from '../cancellation';
import { renderKubernetes } from '../render';
import { canaryObjects, describeSupport, isCanaryCopy, isCanarySupport } from '../kubernetes/object-set-canary';
import { refuseLocalProblems, scopedObject } from '../kubernetes/object-set-scope';
import { canaryName } from '../kubernetes/kubernetes-deployer';
import { describeId, idKey, idOf, type Json, type ObjectId } from '../kubernetes/object-set';
import { ObjectRejectedError, SERVICE_LABEL } from '../kubernetes/object-set';
import type { SimulatedObjectStore, StoreWrite } from './simulated-object-store';
import { diffSimulatedObjects } from './simulated-object-diff';

/** The kind written into snapshots this deployer takes; restore hands any other to the image simulation. */
export const SIMULATED_CHANGE = 'simulated-change';

/** Every object the change may touch in the environment, as it was; `object: null` = absent (restore deletes it). */
export interface SimulatedChangeSnapshot extends EnvironmentSnapshot {
  deployer: typeof SIMULATED_CHANGE;
  objects: { id: ObjectId; object: Json | null }[];
}

export interface SimulatedChangeDeployerOptions {
  /** The worker's clone, read by commit. */
  repoDir: string;
  /** The policy's services (their `environments`), read at each call: the live policy. */
  services: () => { name: string; environments?: Parameters<typeof environmentSource>[0]['environments'] }[];
  /** The namespace each environment's objects live in. */
  namespaceOf: (environment: Environment) => string;
  store: SimulatedObjectStore;
  /** Services in image-tag mode (and snapshots it took). */
  imageDeployer: Deployer;
  /** Milliseconds each rollout takes to become ready. */
  rolloutMs?: number;
  now?: () => Date;
}

type RenderedSource = Exclude<KubernetesSource, { image: unknown }>;
const isRendered = (k?: KubernetesSource): k is RenderedSource => !!k && !('image' in k);
const ownerOf = (o: Json) =>
  ((o.metadata as Json | undefined)?.labels as Record<string, string> | undefined)?.[SERVICE_LABEL];

export function createSimulatedChangeDeployer(o: SimulatedChangeDeployerOptions): Deployer {
  const now = o.now ?? (() => new Date());
  const sourceOf = (service: string, environment: Environment) => {
    const s = o.services().find((x) => x.name === service);
    return s ? environmentSource(s, environment) : { kubernetes: { image: {} } as KubernetesSource };
  };
  const renderedSource = (service: string, environment: Environment) => {
    const k = sourceOf(service, environment).kubernetes;
    return isRendered(k) ? k : undefined;
  };
  /** The stored object as a list of zero or one, for flatMap. */
  const present = (environment: Environment, id: ObjectId): Json[] => {
    const x = o.store.get(environment, id);
    return x ? [x] : [];
  };
  const needChange = (service: string, change?: ChangeRef): ChangeRef => {
    if (!change)
      throw new DeployRejectedError(
        `${service}: its policy renders environments from the repository, but the deploy carries no commit`,
      );
    return change;
  };
  /** What the simulation leaves out, said in every summary rather than skipped silently. */
  const unsimulated = (service: string, environment: Environment) => {
    const roots = sourceOf(service, environment).terraform ?? [];
    return roots.length
      ? `; terraform ${roots.map((r) => r.dir).join(', ')} not simulated (the simulation applies Kubernetes objects only)`
      : '';
  };

  /** The render of `environment` at `commit`, as Airlock writes it (namespace, service label); refused like a cluster refuses it. */
  async function desiredAt(
    service: string,
    environment: Environment,
    source: RenderedSource,
    commit: string,
    signal?: AbortSignal,
  ): Promise<Json[]> {
    const namespace = o.namespaceOf(environment);
    const rendered = await renderKubernetes(source, {
      repoDir: o.repoDir,
      commit,
      namespace,
      ...(signal ? { signal } : {}),
    });
    const set = { namespace, service, desired: rendered.map((r) => r.object) };
    refuseLocalProblems(set);
    const desired = set.desired.map((x) => scopedObject(set, x).body);
    for (const d of desired) {
      const owner = ownerOf(o.store.get(environment, idOf(d)) ?? {});
      if (owner !== undefined && owner !== service)
        throw new ObjectRejectedError(
          `kubernetes: ${describeId(idOf(d))} is live with ${SERVICE_LABEL}=${owner} [simulated]: it belongs to another service, ${service} may not change it`,
        );
    }
    return desired;
  }

  /** The full render at the change's commit: put every object; delete the service's others and what the base had. */
  async function renderWrite(
    service: string,
    environment: Environment,
    change: ChangeRef,
    signal?: AbortSignal,
  ): Promise<StoreWrite> {
    const source = renderedSource(service, environment)!;
    const head = await desiredAt(service, environment, source, change.commit, signal);
    const base = change.baseCommit ? await desiredAt(service, environment, source, change.baseCommit, signal) : [];
    const kept = new Set(head.map((x) => idKey(idOf(x))));
    const gone = new Map<string, ObjectId>();
    for (const x of [...o.store.ofService(environment, service), ...base]) {
      const id = idOf(x);
      if (!kept.has(idKey(id)) && o.store.get(environment, id)) gone.set(idKey(id), id);
    }
    return { put: head, delete: [...gone.values()] };
  }

  /** Applies `w` once the rollout is ready; an abort before then leaves the store as it was. */
  async function rollout(environment: Environment, w: StoreWrite, summary: string, signal?: AbortSignal) {
    throwIfAborted(signal);
    if (o.rolloutMs) await sleep(o.rolloutMs, signal);
    o.store.write(environment, w);
    return { readyAt: now().toISOString(), summary: `[simulated] ${summary}` } satisfies DeployResult;
  }

  const applied = (environment: Environment, w: StoreWrite) =>
    `${w.put.length} objects applied, ${w.delete.length} removed in ${o.namespaceOf(environment)}`;

  /** Production's render vs the store: what canaries, and what reaches production only after approval. */
  async function canaryPlan(service: string, change: ChangeRef, percent: number, signal?: AbortSignal) {
    const head = await desiredAt(service, 'production', renderedSource(service, 'production')!, change.commit, signal);
    const ids = new Set(head.map((x) => idKey(idOf(x))));
    const live = [
      ...head.flatMap((x) => present('production', idOf(x))),
      // A canary copy already running is Airlock's, not part of the change: its removal is no finding.
      ...o.store.ofService('production', service).filter((x) => !ids.has(idKey(idOf(x))) && !isCanaryCopy(x)),
    ];
    return canaryObjects({ desired: head, live, percent });
  }

  return {
    kind: `simulated-change+${o.imageDeployer.kind}`,

    async snapshot(service, environment, options = {}, change?: ChangeRef) {
      const source = renderedSource(service, environment);
      if (!source) return o.imageDeployer.snapshot(service, environment, options, change);
      const ref = needChange(service, change);
      const w = await renderWrite(service, environment, ref, options.signal);
      const ids = new Map<string, ObjectId>();
      for (const id of [
        ...w.put.map((x) => idOf(x)),
        ...w.delete,
        // The canary copies (absent now, so a restore deletes them).
        ...(environment === 'production'
          ? w.put.filter((x) => x.kind === 'Deployment').map((x) => ({ ...idOf(x), name: canaryName(idOf(x).name) }))
          : []),
      ])
        ids.set(idKey(id), id);
      const snapshot: SimulatedChangeSnapshot = {
        service,
        environment,
        stable: null,
        canary: null,
        capturedAt: now().toISOString(),
        deployer: SIMULATED_CHANGE,
        objects: [...ids.values()].map((id) => ({ id, object: o.store.get(environment, id) })),
      };
      return snapshot;
    },

    async deploy(req, options = {}) {
      if (!renderedSource(req.service, req.environment)) return o.imageDeployer.deploy(req, options);
      const ref = needChange(req.service, req.change);
      const w = await renderWrite(req.service, req.environment, ref, options.signal);
      const what = `${req.service} ${req.environment} at ${ref.commit.slice(0, 12)}: ${applied(req.environment, w)}`;
      return rollout(req.environment, w, `${what}${unsimulated(req.service, req.environment)}`, options.signal);
    },

    async deployCanary(req, options = {}) {
      if (!renderedSource(req.service, 'production')) return o.imageDeployer.deployCanary(req, options);
      const plan = await canaryPlan(req.service, needChange(req.service, req.change), req.percent, options.signal);
      const notCanaried = plan.notCanaried.map((n) => `${describeId(n.id)} (${n.reason})`);
      const tail = `${notCanaried.length ? `; not canaried, reaches production only after approval: ${notCanaried.join(', ')}` : ''}${unsimulated(req.service, 'production')}`;
      if (!plan.canary.length) {
        throwIfAborted(options.signal);
        return {
          readyAt: now().toISOString(),
          summary: `[simulated] ${req.service}: no pod template changes, canary skipped${tail}`,
        };
      }
      const names = plan.canary.map((c) => idOf(c).name);
      const withSupport = describeSupport(plan);
      return rollout(
        'production',
        { put: [...plan.support, ...plan.canary], delete: [] },
        `${req.service}: canary ${names.join(', ')} at ${req.percent}% of production${withSupport}${tail}`,
        options.signal,
      );
    },

    async promote(req, options = {}) {
      if (!renderedSource(req.service, 'production')) return o.imageDeployer.promote(req, options);
      // The full production render; the canary copies are labelled for the service and not in it: pruned.
      const ref = needChange(req.service, req.change);
      const w = await renderWrite(req.service, 'production', ref, options.signal);
      const what = `${req.service} production at ${ref.commit.slice(0, 12)}: ${applied('production', w)}`;
      return rollout('production', w, `${what}${unsimulated(req.service, 'production')}`, options.signal);
    },

    async preview(req, options = {}): Promise<ChangePreview | undefined> {
      if (!renderedSource(req.service, req.environment)) return o.imageDeployer.preview?.(req, options);
      const w = await renderWrite(req.service, req.environment, req.change, options.signal);
      const live = [...w.put.map((x) => idOf(x)), ...w.delete].flatMap((id) => present(req.environment, id));
      // Airlock's own canary copies are not the change: left out of the diff, named in a note. Support
      // objects the canary applied ahead of the rollout are shown as the creations they still are.
      const canaries = live.filter(isCanaryCopy);
      const diff = diffSimulatedObjects(
        live.filter((x) => !isCanaryCopy(x) && !isCanarySupport(x)),
        w.put,
      );
      const changed = diff.objects.filter((d) => d.action !== 'unchanged');
      const namespace = o.namespaceOf(req.environment);
      const header = `# kubernetes ${namespace} [simulated]: ${changed.map((d) => `${d.action} ${describeId(d.id)}`).join(', ') || 'no changes'}`;
      const notes = [`[simulated] diffed against the simulation's objects of ${req.environment}, not a cluster`];
      if (req.environment === 'production')
        for (const n of (await canaryPlan(req.service, req.change, 10, options.signal)).notCanaried)
          notes.push(`not canaried, reaches production only after approval: ${describeId(n.id)} (${n.reason})`);
      for (const c of canaries) notes.push(`the canary copy ${describeId(idOf(c))} is removed by the rollout`);
      const terraform = unsimulated(req.service, req.environment);
      if (terraform) notes.push(terraform.slice(2));
      return {
        environment: req.environment,
        text: `${header}\n${diff.text}`,
        digest: `sha256:${createHash('sha256').update(diff.digest).digest('hex')}`,
        notes,
      };
    },

    async restore(snapshot, options = {}) {
      if (snapshot.deployer !== SIMULATED_CHANGE) return o.imageDeployer.restore(snapshot, options);
      const s = snapshot as SimulatedChangeSnapshot;
      const w: StoreWrite = {
        put: s.objects.flatMap((x) => (x.object ? [x.object] : [])),
        delete: s.objects.filter((x) => !x.object).map((x) => x.id),
      };
      const gone = w.delete.filter((id) => o.store.get(s.environment, id)).length;
      return rollout(
        s.environment,
        w,
        `${s.service} ${s.environment} restored exactly: ${w.put.length} objects put back, ${gone} deleted in ${o.namespaceOf(s.environment)}`,
        options.signal,
      );
    },
  };
}
