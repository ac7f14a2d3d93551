// Workloads: the pod templates, containers and replica counts inside manifest documents.
import { getIn, type FieldPath, type ManifestDoc } from './manifest';

/** Where each kind keeps its pod spec. Every kind that runs pods is listed: a probe hides in any. */
const POD_SPEC_PATH: Record<string, FieldPath> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const SCALED_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

export interface Container {
  name: string;
  /** Field path of the container within its document. */
  path: FieldPath;
  value: Record<string, unknown>;
  init: boolean;
}

/** Where a kind keeps its pod spec, or undefined for kinds that run no pods. */
export function podSpecPath(kind: string | undefined): FieldPath | undefined {
  return kind !== undefined && Object.hasOwn(POD_SPEC_PATH, kind) ? POD_SPEC_PATH[kind] : undefined;
}

export function isPodTemplateKind(kind: string | undefined): boolean {
  return kind !== undefined && kind in POD_SPEC_PATH;
}

export function containersOf(doc: ManifestDoc): Container[] {
  const specPath = doc.kind ? POD_SPEC_PATH[doc.kind] : undefined;
  if (!specPath) return [];
  const out: Container[] = [];
  for (const [field, init] of [
    ['containers', false],
    ['initContainers', true],
  ] as const) {
    const list = getIn(doc.value, [...specPath, field]);
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (c && typeof c === 'object' && !Array.isArray(c)) {
        const value = c as Record<string, unknown>;
        out.push({
          name: typeof value.name === 'string' ? value.name : `#${i}`,
          path: [...specPath, field, i],
          value,
          init,
        });
      }
    });
  }
  return out;
}

/** Stable identity across the two trees: a workload keeps it when it moves between files. */
export function workloadKey(doc: ManifestDoc): string {
  return `${doc.kind}/${doc.namespace ?? 'default'}/${doc.name ?? `${doc.file}#${doc.index}`}`;
}

export function workloadLabel(doc: ManifestDoc): string {
  return `${doc.kind} ${doc.name ?? '(unnamed)'}`;
}

/** Declared replicas; Kubernetes' default of 1 when absent; undefined for kinds without the field. */
export function replicasOf(doc: ManifestDoc): number | undefined {
  if (!doc.kind || !SCALED_KINDS.has(doc.kind)) return undefined;
  const r = getIn(doc.value, ['spec', 'replicas']);
  return typeof r === 'number' ? r : 1;
}

export function hasReplicasField(doc: ManifestDoc): boolean {
  return doc.kind !== undefined && SCALED_KINDS.has(doc.kind);
}
