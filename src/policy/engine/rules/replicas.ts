// Rule replicas (AI-DEPLOY-001: staging API scaled 3 → 17): replica counts above the ceiling.
// Also finds the scaling changes that planned-operation windows forbid.
import type { Finding } from '../finding';
import type { CheckContext, Rule } from '../check-context';
import { getIn, type ManifestDoc } from '../manifest';
import { headObjects } from '../object-changes';
import { hasReplicasField, replicasOf, workloadLabel } from '../workload';

export interface ScalingChange {
  file: string;
  line?: number;
  what: string;
  from?: number;
  to: number;
  /** The object's base did not parse: the old count is unknown, not absent. */
  uncompared?: boolean;
}

/** The replica-shaped numbers of a document: workload replicas, HPA min/max. */
function replicaFields(doc: ManifestDoc): { field: string; path: string[]; value: number }[] {
  if (hasReplicasField(doc)) return [{ field: 'replicas', path: ['spec', 'replicas'], value: replicasOf(doc)! }];
  if (doc.kind !== 'HorizontalPodAutoscaler') return [];
  const out = [];
  for (const field of ['minReplicas', 'maxReplicas']) {
    const value = getIn(doc.value, ['spec', field]);
    if (typeof value === 'number') out.push({ field, path: ['spec', field], value });
  }
  return out;
}

export function scalingChanges(ctx: CheckContext): ScalingChange[] {
  const out: ScalingChange[] = [];
  for (const { before, after: doc, status } of headObjects(ctx.objects)) {
    const old = new Map((before ? replicaFields(before) : []).map((f) => [f.field, f.value]));
    for (const f of replicaFields(doc)) {
      const from = old.get(f.field);
      if (from === f.value) continue;
      out.push({
        file: doc.file,
        line: doc.line(f.path),
        what: `${f.field} of ${workloadLabel(doc)}`,
        from,
        to: f.value,
        ...(status === 'uncompared' ? { uncompared: true } : {}),
      });
    }
  }
  return out;
}

export const replicasRule: Rule = (ctx) => {
  const max = ctx.checks.maxReplicas;
  const findings: Finding[] = [];
  for (const s of scalingChanges(ctx)) {
    if (s.to <= max) continue;
    findings.push({
      rule: 'replicas',
      level: 'block',
      file: s.file,
      line: s.line,
      message:
        `${s.what} ${s.from === undefined ? 'is' : `goes from ${s.from} to`} ${s.to}, above the maximum of ${max}: ` +
        `scaling this far multiplies cost and node pressure (AI-DEPLOY-001 scaled 3 → 17 on a load test nobody told it about); a human must approve capacity like this outside Airlock`,
    });
  }
  return findings;
};
