// Rules memory-increase and memory-capacity (AI-DEPLOY-006): 512Mi → 2Gi on 8 replicas claimed
// 12Gi more on a 32 GB node pool and evicted three unrelated services.
import { isDeepStrictEqual } from 'node:util';
import type { Finding } from '../finding';
import type { CheckContext, Rule } from '../check-context';
import { getIn, type ManifestDoc } from '../manifest';
import {
  formatBytes,
  increasePercent,
  increasesByMoreThan,
  parseQuantity,
  QuantityError,
  type Nanos,
} from '../quantity';
import { headObjects } from '../object-changes';
import { containersOf, replicasOf, workloadKey, workloadLabel } from '../workload';

const FIELDS = [
  ['limits', 'memory'],
  ['requests', 'memory'],
] as const;

function quantityAt(container: Record<string, unknown>, field: readonly string[]): unknown {
  return getIn(container, ['resources', ...field]);
}

function tryParse(raw: unknown): Nanos | undefined {
  try {
    return raw === undefined ? undefined : parseQuantity(raw);
  } catch {
    return undefined;
  }
}

/** Memory one pod may take: the limit, or the request where no limit is set (the scheduler's view). */
function podMemory(doc: ManifestDoc): Nanos {
  let total = 0n;
  for (const c of containersOf(doc)) {
    if (c.init) continue; // init containers finish before the app containers start
    total +=
      tryParse(quantityAt(c.value, ['limits', 'memory'])) ??
      tryParse(quantityAt(c.value, ['requests', 'memory'])) ??
      0n;
  }
  return total;
}

/** HPA maxReplicas by target, so the capacity check counts what autoscaling may reach. */
function hpaMaxByTarget(docs: ManifestDoc[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const doc of docs) {
    if (doc.kind !== 'HorizontalPodAutoscaler') continue;
    const kind = getIn(doc.value, ['spec', 'scaleTargetRef', 'kind']);
    const name = getIn(doc.value, ['spec', 'scaleTargetRef', 'name']);
    const max = getIn(doc.value, ['spec', 'maxReplicas']);
    if (typeof kind === 'string' && typeof name === 'string' && typeof max === 'number') {
      out.set(`${kind}/${doc.namespace ?? 'default'}/${name}`, max);
    }
  }
  return out;
}

function increaseFindings(ctx: CheckContext): Finding[] {
  const percent = ctx.checks.maxMemoryIncreasePercent;
  const findings: Finding[] = [];
  // Objects matched across files: a Deployment moved to another file is compared with itself.
  for (const { before, after: doc, status } of headObjects(ctx.objects)) {
    const old = new Map<string, Record<string, unknown>>();
    for (const c of before ? containersOf(before) : []) old.set(c.name, c.value);
    for (const c of containersOf(doc)) {
      for (const field of FIELDS) {
        const raw = quantityAt(c.value, field);
        if (raw === undefined) continue;
        const path = [...c.path, 'resources', ...field];
        const where = `container "${c.name}" in ${workloadLabel(doc)}`;
        const previous = old.get(c.name);
        const oldRaw = previous && quantityAt(previous, field);
        let next: Nanos;
        try {
          next = parseQuantity(raw);
        } catch (err) {
          if (!(err instanceof QuantityError)) throw err;
          const already =
            oldRaw !== undefined && isDeepStrictEqual(oldRaw, raw) ? ' (it was already so at the base)' : '';
          findings.push({
            rule: 'unparseable',
            level: 'block',
            file: doc.file,
            line: doc.line(path),
            message: `resources.${field.join('.')} of ${where}: ${err.message}; the memory change cannot be checked${already}`,
          });
          continue;
        }
        // An object whose base did not parse has no known old value: nothing to compare.
        if (status === 'uncompared') continue;
        const prev = tryParse(oldRaw);
        if (prev === undefined || prev <= 0n || !increasesByMoreThan(prev, next, percent)) continue;
        const replicas = replicasOf(doc);
        findings.push({
          rule: 'memory-increase',
          level: 'block',
          file: doc.file,
          line: doc.line(path),
          message:
            `resources.${field.join('.')} of ${where} rises from ${String(oldRaw)} to ${String(raw)} ` +
            `(+${increasePercent(prev, next)} %, limit +${percent} %)` +
            (replicas ? `, ${formatBytes((next - prev) * BigInt(replicas))} more over ${replicas} replica(s)` : '') +
            `: a jump this size can exhaust the node pool and evict other services (AI-DEPLOY-006). A human must size it.`,
        });
      }
    }
  }
  return findings;
}

function capacityFindings(ctx: CheckContext): Finding[] {
  // Objects of a file whose base did not parse are left out: an unknown base is not an empty one.
  const compared = ctx.objects.filter((o) => o.status !== 'uncompared');
  const hpaAfter = hpaMaxByTarget(compared.flatMap((o) => (o.after ? [o.after] : [])));
  const hpaBefore = hpaMaxByTarget(compared.flatMap((o) => (o.before ? [o.before] : [])));
  const claim = (doc: ManifestDoc, hpa: Map<string, number>) => {
    const replicas = replicasOf(doc) ?? 1;
    return podMemory(doc) * BigInt(Math.max(replicas, hpa.get(workloadKey(doc)) ?? 0));
  };
  let added = 0n;
  const parts: string[] = [];
  let first: { file: string; line?: number } | undefined;
  // Unchanged objects too: an autoscaler's new maxReplicas raises what an unchanged workload claims.
  for (const { before, after: doc } of compared) {
    if (!doc || !containersOf(doc).length) continue;
    const delta = claim(doc, hpaAfter) - (before ? claim(before, hpaBefore) : 0n);
    if (delta <= 0n) continue; // freed memory may sit on other nodes: never offset an increase with it
    added += delta;
    parts.push(`${workloadLabel(doc)} +${formatBytes(delta)}`);
    first ??= { file: doc.file, line: doc.line(['spec']) };
  }
  if (added === 0n || !first) return [];
  const free = ctx.checks.nodePoolFreeMemory;
  if (free === undefined) {
    return [
      {
        rule: 'memory-capacity',
        level: 'warn',
        ...first,
        message: `the change claims ${formatBytes(added)} more memory across replicas (${parts.join(', ')}) but checks.nodePoolFreeMemory is not set, so nobody checked it fits the node pool`,
      },
    ];
  }
  const freeNanos = parseQuantity(free);
  if (added <= freeNanos) return [];
  return [
    {
      rule: 'memory-capacity',
      level: 'block',
      ...first,
      message:
        `the change claims ${formatBytes(added)} more memory across replicas (${parts.join(', ')}), more than the ${free} free in the node pool: ` +
        `the scheduler will evict other pods to make room (the eviction cascade of AI-DEPLOY-006)`,
    },
  ];
}

export const memoryRule: Rule = (ctx) => [...increaseFindings(ctx), ...capacityFindings(ctx)];
