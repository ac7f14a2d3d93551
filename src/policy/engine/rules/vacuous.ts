// Rules vacuous-memory-limit and vacuous-probe: the memory and probe rules judge values, so a
// container the change adds or edits without them passes those rules with nothing checked. A memory
// limit of 2Gi on 8 replicas is a finding (AI-DEPLOY-006); no limit at all would have passed silently.
import { isDeepStrictEqual } from 'node:util';
import type { Finding } from '../finding';
import type { Rule } from '../check-context';
import { getIn, type ManifestDoc } from '../manifest';
import { headObjects } from '../object-changes';
import { containersOf, workloadLabel, type Container } from '../workload';

// Pods of these run to completion and serve no traffic: a probe there protects nothing the gate checks.
const RUN_TO_COMPLETION = new Set(['Job', 'CronJob']);

const present = (v: unknown) => v !== undefined && v !== null;

/** Init containers run before the app, so probes apply only to native sidecars (restartPolicy Always). */
function takesProbes(doc: ManifestDoc, c: Container): boolean {
  if (RUN_TO_COMPLETION.has(doc.kind ?? '')) return false;
  return !c.init || getIn(c.value, ['restartPolicy']) === 'Always';
}

function missingProbes(c: Container): string[] {
  const out: string[] = [];
  if (!present(getIn(c.value, ['livenessProbe'])))
    out.push(
      'no livenessProbe, so liveness-probe has no failureThreshold to judge and a hung process is never restarted',
    );
  if (!present(getIn(c.value, ['readinessProbe'])))
    out.push(
      'no readinessProbe, so Kubernetes counts it ready as soon as it starts and the rollout wait and the canary cannot tell a broken version from a working one',
    );
  return out;
}

function memoryGap(c: Container): string | undefined {
  if (present(getIn(c.value, ['resources', 'limits', 'memory']))) return undefined;
  const request = getIn(c.value, ['resources', 'requests', 'memory']);
  const counted = present(request) ? `counts only its request (${String(request)})` : 'counts it as 0';
  return (
    `has no resources.limits.memory: memory-increase has no limit to compare and memory-capacity ${counted}, ` +
    `yet it may take all of a node's memory and get other services evicted (AI-DEPLOY-006). Set a limit so the gate can judge it`
  );
}

export const vacuousRule: Rule = ({ objects, checks, kustomizeBases }) => {
  const findings: Finding[] = [];
  const key = (c: Container) => `${c.init ? 'init:' : ''}${c.name}`;
  for (const { before, after: doc } of headObjects(objects)) {
    // A patch sets only what it changes; the object it patches is judged where it is rendered.
    if (kustomizeBases.patches.has(doc.file)) continue;
    const previous = new Map((before ? containersOf(before) : []).map((c) => [key(c), c.value]));
    for (const c of containersOf(doc)) {
      // A container the change leaves as it was is not the change's doing.
      if (isDeepStrictEqual(previous.get(key(c)), c.value)) continue;
      const where = `${c.init ? 'init container' : 'container'} "${c.name}" in ${workloadLabel(doc)}`;
      const line = doc.objectLine(c.path);
      const memory = memoryGap(c);
      if (memory) {
        findings.push({
          rule: 'vacuous-memory-limit',
          level: checks.vacuous.memoryLimit,
          file: doc.file,
          line,
          message: `${where} ${memory}`,
        });
      }
      const probes = takesProbes(doc, c) ? missingProbes(c) : [];
      if (probes.length) {
        findings.push({
          rule: 'vacuous-probe',
          level: checks.vacuous.probes,
          file: doc.file,
          line,
          message: `${where} has ${probes.join('; and ')}. Add the probe so the gate and the rollout can judge it`,
        });
      }
    }
  }
  return findings;
};
