// The canary of an object set: what of a change can run on a fraction of production beside the
// stable version, and what cannot. Only a Deployment's pod template can: its new pods run as
// `<name>-canary` next to the stable ones, reached through the stable Service (same pod labels).
// Everything else (config the stable pods read, Services, autoscalers, budgets, RBAC, replica
// counts, deletions) reaches all of production at once; the approval request lists it.
// Pure: no requests.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { canaryName, canaryReplicas, TRACK_LABEL } from './kubernetes-deployer';
import { stripServerFields } from './object-set-strip';
import { describeId, idKey, idOf, SERVICE_LABEL, type Json, type ObjectId } from './object-set';

/** On every canary copy: the Deployment it is the canary of. */
const CANARY_OF = 'airlock.dev/canary-of';
/**
 * On every support object the canary applied ahead of the rollout: until the rollout applies the
 * render (which drops the annotation, Airlock owning it), the object counts as not yet in
 * production, so the diff shown to approvers still shows its creation.
 */
export const CANARY_SUPPORT = 'airlock.dev/canary-support';

export interface CanaryInput {
  /**
   * The production render. Pass the diff's `after` objects (server-defaulted by the dry run): a
   * raw render differs from live in every default the API server fills in, which would make every
   * template look changed.
   */
  desired: (KubernetesObject | Json)[];
  /** The live objects (the diff's `before`, or a snapshot's objects). */
  live: (KubernetesObject | Json)[];
  percent: number;
}

export interface NotCanaried {
  id: ObjectId;
  reason: string;
}

export interface CanaryPlan {
  /** Canary Deployments to apply beside the render (applyObjects with prune: false). */
  canary: Json[];
  /**
   * New ConfigMaps and ServiceAccounts, applied before the canary copies when there are any: the
   * new template may read them (a kustomize configMapGenerator edit renames its ConfigMap), and no
   * stable pod can, as they did not exist. Empty without a canary.
   */
  support: Json[];
  notCanaried: NotCanaried[];
}

/** Kinds a new pod template reads by name that stable pods cannot read before they exist. */
const SUPPORT_KINDS = new Set(['ConfigMap', 'ServiceAccount']);

interface DeploymentShape {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Json & {
    replicas?: number;
    selector?: Json & { matchLabels?: Record<string, string> };
    template?: Json & { metadata?: Json & { labels?: Record<string, string> } };
  };
}

const KIND_REASONS: Record<string, string> = {
  ConfigMap: 'read by the stable pods: a change reaches all of them, not a fraction',
  Secret: 'read by the stable pods: a change reaches all of them, not a fraction',
  Service: 'one Service sends traffic to stable and canary pods alike',
  HorizontalPodAutoscaler: 'scales the stable workload as a whole',
  PodDisruptionBudget: 'guards the stable pods as a whole',
  ServiceAccount: 'the identity of the stable pods: changes for all of them',
  Role: 'RBAC: granted to the stable pods at once',
  RoleBinding: 'RBAC: granted to the stable pods at once',
  // Workloads whose pods cannot be copied as a fraction beside the stable ones.
  StatefulSet: 'pods with stable names and their own volumes: a copy would start new ones with empty volumes',
  DaemonSet: 'one pod per node: a copy would run on every node, not on a fraction',
  Job: 'runs to completion: no traffic for a canary to judge',
  CronJob: 'runs on a schedule: no traffic for a canary to judge',
};

const withoutTemplate = (spec: DeploymentShape['spec']) => {
  const rest = { ...spec };
  delete rest.template;
  return rest;
};

/** The canary of one Deployment: the desired template beside `stableReplicas` stable pods. */
function canaryOf(desired: DeploymentShape, stableReplicas: number, percent: number): Json {
  const name = desired.metadata?.name ?? '';
  const spec = structuredClone(desired.spec ?? {});
  const template = spec.template ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: canaryName(name),
      namespace: desired.metadata?.namespace,
      labels: { ...desired.metadata?.labels, [TRACK_LABEL]: 'canary' },
      annotations: { [CANARY_OF]: name },
    },
    spec: {
      ...spec,
      replicas: canaryReplicas(stableReplicas, percent),
      // The stable pods' labels are kept, so the stable Service's selector reaches the canary pods.
      selector: { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, [TRACK_LABEL]: 'canary' } },
      template: {
        ...template,
        metadata: { ...template.metadata, labels: { ...template.metadata?.labels, [TRACK_LABEL]: 'canary' } },
      },
    },
  };
}

/** What a Deployment's change means for the canary: a canary, reasons, or both. */
function planDeployment(
  id: ObjectId,
  desired: DeploymentShape,
  live: DeploymentShape,
  percent: number,
  plan: CanaryPlan,
  rendered: DeploymentShape,
) {
  const templateChanged = !isDeepStrictEqual(desired.spec?.template, live.spec?.template);
  if (templateChanged) plan.canary.push(canaryOf(rendered, live.spec?.replicas ?? 1, percent));
  const [d, l] = [withoutTemplate(desired.spec), withoutTemplate(live.spec)];
  if (d.replicas !== l.replicas)
    plan.notCanaried.push({
      id,
      reason: `replica count ${l.replicas ?? 1} → ${d.replicas ?? 1}: applies to production at once`,
    });
  delete d.replicas;
  delete l.replicas;
  if (!isDeepStrictEqual(d, l))
    plan.notCanaried.push({ id, reason: 'Deployment spec outside the pod template (strategy, selector, ...)' });
  if (!isDeepStrictEqual(desired.metadata, live.metadata))
    plan.notCanaried.push({ id, reason: 'Deployment labels or annotations' });
}

/**
 * The object without server-managed fields and without Airlock's own label: adopting an object
 * (first apply by Airlock) adds the label, which changes nothing the pods or their traffic see.
 * The canary copies get the label again when applied (scopeObjectSet).
 */
function comparable(o: KubernetesObject | Json): Json {
  const copy = stripServerFields(o as Json);
  const metadata = copy.metadata as { labels?: Record<string, string> } | undefined;
  if (metadata?.labels) {
    delete metadata.labels[SERVICE_LABEL];
    if (!Object.keys(metadata.labels).length) delete metadata.labels;
  }
  return copy;
}

/** A canary copy made earlier (live during the canary): its removal ends the canary, it is not a change. */
export const isCanaryCopy = (o: KubernetesObject | Json) =>
  (o as KubernetesObject).metadata?.annotations?.[CANARY_OF] !== undefined;

/** A support object applied for the canary and not yet by a rollout: not part of production yet. */
export const isCanarySupport = (o: KubernetesObject | Json | null) =>
  (o as KubernetesObject | null)?.metadata?.annotations?.[CANARY_SUPPORT] !== undefined;

/** Which Deployments get a canary (pod template changed) and what of the change cannot be canaried. */
export function canaryObjects(input: CanaryInput): CanaryPlan {
  const plan: CanaryPlan = { canary: [], support: [], notCanaried: [] };
  const created: { id: ObjectId; object: Json }[] = [];
  const live = new Map(
    input.live.filter((o) => !isCanaryCopy(o) && !isCanarySupport(o)).map((o) => [idKey(idOf(o)), comparable(o)]),
  );
  const wanted = new Set<string>();
  for (const o of input.desired) {
    const id = idOf(o);
    wanted.add(idKey(id));
    const desired = comparable(o);
    const before = live.get(idKey(id));
    if (before && isDeepStrictEqual(desired, before)) continue;
    if (!before && SUPPORT_KINDS.has(id.kind)) created.push({ id, object: o as Json });
    else if (id.kind !== 'Deployment')
      plan.notCanaried.push({
        id,
        reason: `${id.kind}: ${KIND_REASONS[id.kind] ?? 'not a Deployment pod template: applies to production at once'}`,
      });
    else if (!before)
      plan.notCanaried.push({
        id,
        reason: 'new Deployment: no stable pods to run beside; it starts with the full rollout',
      });
    else {
      const rendered = stripServerFields(o as Json) as DeploymentShape;
      planDeployment(id, desired as DeploymentShape, before as DeploymentShape, input.percent, plan, rendered);
    }
  }
  for (const [key, o] of live)
    if (!wanted.has(key))
      plan.notCanaried.push({
        id: idOf(o),
        reason: `${String(o.kind)} deleted: removal reaches all of production at once`,
      });
  // New objects go with the canary when there is one; without one they reach production with the rollout.
  for (const c of created)
    if (plan.canary.length) plan.support.push(asSupport(c.object));
    else
      plan.notCanaried.push({ id: c.id, reason: `new ${c.id.kind}: no canary to read it; created with the rollout` });
  return plan;
}

function asSupport(object: Json): Json {
  const copy = stripServerFields(object) as KubernetesObject & Json;
  copy.metadata = { ...copy.metadata, annotations: { ...copy.metadata?.annotations, [CANARY_SUPPORT]: 'true' } };
  return copy;
}

/** " with ConfigMap ns/x (new, ...)" for a canary summary, or "" without support objects. */
export function describeSupport(plan: CanaryPlan, namespace?: string): string {
  const support = plan.support.map((x) => describeId(idOf(x, namespace)));
  return support.length ? ` with ${support.join(', ')} (new, for the canary's pods to read)` : '';
}
