// Rule liveness-probe (AI-DEPLOY-009): a liveness probe that gives up after one failure restarts
// every replica at once on a network blip. Kubernetes' default failureThreshold is 3.
import { isDeepStrictEqual } from 'node:util';
import type { Finding } from '../finding';
import type { Rule } from '../check-context';
import { getIn } from '../manifest';
import { headObjects } from '../object-changes';
import { containersOf, workloadLabel } from '../workload';

export const KUBERNETES_DEFAULT_FAILURE_THRESHOLD = 3;

export const livenessProbeRule: Rule = ({ objects, checks }) => {
  const min = checks.minLivenessFailureThreshold;
  const findings: Finding[] = [];
  // Objects the change adds or edits (matched across files: a moved object keeps its probes).
  for (const { before, after: doc } of headObjects(objects)) {
    const previous = new Map<string, unknown>();
    for (const c of before ? containersOf(before) : []) previous.set(c.name, getIn(c.value, ['livenessProbe']));
    for (const c of containersOf(doc)) {
      const probe = getIn(c.value, ['livenessProbe']);
      if (probe === undefined || probe === null) continue;
      const raw = getIn(probe, ['failureThreshold']);
      const path = [...c.path, 'livenessProbe', 'failureThreshold'];
      const where = `livenessProbe of container "${c.name}" in ${workloadLabel(doc)}`;
      if (raw !== undefined && (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1)) {
        findings.push({
          rule: 'liveness-probe',
          level: 'block',
          file: doc.file,
          line: doc.line(path),
          message: `${where} has failureThreshold ${raw !== null && typeof raw === 'object' ? (Array.isArray(raw) ? 'a list' : 'a mapping') : JSON.stringify(raw)}, which is not a positive integer; Kubernetes would reject or misread it`,
        });
        continue;
      }
      const threshold = raw ?? KUBERNETES_DEFAULT_FAILURE_THRESHOLD;
      if (threshold >= min) continue;
      // A probe the change did not touch was already running; the gate judges what the change brings.
      const old = previous.get(c.name);
      // Compared structurally (never stringified: an aliased tree would be expanded whole).
      if (old !== undefined && isDeepStrictEqual(old, probe)) continue;
      const period = getIn(probe, ['periodSeconds']);
      const seconds = threshold * (typeof period === 'number' ? period : 10);
      findings.push({
        rule: 'liveness-probe',
        level: 'block',
        file: doc.file,
        line: doc.line(raw === undefined ? [...c.path, 'livenessProbe'] : path),
        message:
          `${where} has failureThreshold ${threshold}, below the minimum ${min}: ${threshold} failed check(s) ` +
          `(${seconds} s of unreachable health endpoint) kill the pod, so one network blip restarts every replica at once ` +
          `(the restart storm of AI-DEPLOY-009). Set failureThreshold to at least ${min}.`,
      });
    }
  }
  return findings;
};
