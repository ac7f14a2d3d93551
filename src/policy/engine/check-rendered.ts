// The gate on what will be applied: the objects an environment renders at the base and at the head
// commit (kustomize, Helm, manifests; src/integrations/render), judged by the same object rules as a
// plain manifest edit. A Helm values edit that sets a liveness threshold to 1 or quadruples memory,
// or a kustomize `replicas:` field, is then a finding like the YAML edit it amounts to, naming the
// rendered object and the file that produced it. Pure: renders come in, findings go out.
import { stringify } from 'yaml';
import type { Policy } from '../config/schema';
import type { FileTree } from './change-files';
import { checkChange } from './check-change';
import type { Finding } from './finding';
import { livenessProbeRule } from './rules/liveness-probe';
import { memoryRule } from './rules/memory';
import { replicasRule } from './rules/replicas';

/** One rendered object and the repository file that produced it. */
export interface RenderedDoc {
  object: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };
  source: string;
}

export interface EnvironmentRenders {
  environment: string;
  base: RenderedDoc[];
  head: RenderedDoc[];
}

/** The rules that judge an object's content (paths, sizes and reach are judged on the files). */
export const OBJECT_RULES = [livenessProbeRule, memoryRule, replicasRule];

const pathOf = (d: RenderedDoc) =>
  `rendered/${d.object.kind ?? 'Object'}/${d.object.metadata?.namespace ?? '-'}/${d.object.metadata?.name ?? '-'}.yaml`;

function treeOf(docs: RenderedDoc[]): FileTree {
  const files = new Map(docs.map((d) => [pathOf(d), stringify(d.object)]));
  return {
    paths: () => [...files.keys()],
    read: async (paths) => new Map(paths.flatMap((p) => (files.has(p) ? [[p, files.get(p)!] as const] : []))),
  };
}

/** Findings on each environment's rendered objects, each naming the object and its source file. */
export async function checkRendered(policy: Policy, renders: EnvironmentRenders[]): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const r of renders) {
    const sources = new Map([...r.base, ...r.head].map((d) => [pathOf(d), d]));
    const findings = await checkChange(policy, { base: treeOf(r.base), head: treeOf(r.head) }, { rules: OBJECT_RULES });
    for (const f of findings) {
      const doc = f.file ? sources.get(f.file) : undefined;
      if (!doc) {
        out.push({ ...f, message: `${r.environment} render: ${f.message}` });
        continue;
      }
      const { line: _line, ...rest } = f; // a line of the synthetic file means nothing to a reader
      const object = `${doc.object.kind} ${doc.object.metadata?.namespace ?? ''}/${doc.object.metadata?.name ?? ''}`;
      out.push({
        ...rest,
        file: doc.source,
        message: `${r.environment} render, ${object} (from ${doc.source}): ${f.message.replaceAll(f.file!, object)}`,
      });
    }
  }
  return out;
}
