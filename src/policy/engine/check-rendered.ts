// The gate on what will be applied: the objects an environment renders at the base and at the head
// commit (kustomize, Helm, manifests; src/integrations/render), judged by the same object rules as a
// plain manifest edit. A Helm values edit that sets a liveness threshold to 1 or quadruples memory,
// makes a Service a LoadBalancer or puts a token in a ConfigMap, or a kustomize `replicas:` field,
// is then a finding like the YAML edit it amounts to, naming the rendered object and the file that
// produced it. Each object is a file of its own, so only objects the change alters are judged.
// Pure: renders come in, findings go out.
import { stringify } from 'yaml';
import type { Policy } from '../config/schema';
import type { FileTree } from './change-files';
import { checkChange } from './check-change';
import type { Finding } from './finding';
import { isKustomizationPath } from './kustomize-bases';
import { livenessProbeRule } from './rules/liveness-probe';
import { memoryRule } from './rules/memory';
import { plannedOperationRule } from './rules/planned-operation';
import { replicasRule } from './rules/replicas';
import { sensitiveRule } from './rules/sensitive';
import { vacuousRule } from './rules/vacuous';

/** One rendered object and the repository file that produced it (the tool's origin). */
export interface RenderedDoc {
  object: {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string };
    [field: string]: unknown;
  };
  source: string;
}

export interface EnvironmentRenders {
  environment: string;
  base: RenderedDoc[];
  head: RenderedDoc[];
  /** Files of the change this environment's render reads (render-inputs.ts); named in findings. */
  changedInputs?: readonly string[];
}

export interface RenderedCheckOptions {
  now?: Date;
  /** The service these renders belong to: its planned-operation windows apply to them. */
  service?: string;
}

/** The rules that judge an object's content (paths, sizes and reach are judged on the files). */
export const OBJECT_RULES = [
  livenessProbeRule,
  memoryRule,
  replicasRule,
  plannedOperationRule,
  vacuousRule,
  sensitiveRule,
];

// One file per object, named in a single segment: a namespace or object called "production" is
// judged by its namespace (as in a manifest), never as a production directory it does not live in.
const pathOf = (d: RenderedDoc) =>
  `rendered/${d.object.kind ?? 'Object'}~${d.object.metadata?.namespace ?? '-'}~${d.object.metadata?.name ?? '-'}.yaml`;

function treeOf(docs: RenderedDoc[]): FileTree {
  const files = new Map(docs.map((d) => [pathOf(d), stringify(d.object)]));
  return {
    paths: () => [...files.keys()],
    read: async (paths) => new Map(paths.flatMap((p) => (files.has(p) ? [[p, files.get(p)!] as const] : []))),
  };
}

/**
 * The changed files that can have shaped `doc`: its own origin, and inputs that are no other
 * object's origin (values files, helpers, patches, kustomizations, which configure many objects).
 */
function editedSources(doc: RenderedDoc, r: EnvironmentRenders): string[] {
  const origins = new Set([...r.base, ...r.head].map((d) => d.source).filter((s) => !isKustomizationPath(s)));
  const inputs = r.changedInputs ?? [doc.source];
  const edited = inputs.filter((p) => p === doc.source || !origins.has(p));
  // The origin first: a reader starts from the object's own file.
  return [...edited.filter((p) => p === doc.source), ...edited.filter((p) => p !== doc.source)];
}

/** Findings on each environment's rendered objects, each naming the object and its source files. */
export async function checkRendered(
  policy: Policy,
  renders: EnvironmentRenders[],
  options: RenderedCheckOptions = {},
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const r of renders) {
    const sources = new Map([...r.base, ...r.head].map((d) => [pathOf(d), d]));
    const findings = await checkChange(
      policy,
      { base: treeOf(r.base), head: treeOf(r.head) },
      {
        rules: OBJECT_RULES,
        ...(options.now ? { now: options.now } : {}),
        servicesOf: () => (options.service ? [options.service] : []),
      },
    );
    for (const f of findings) {
      const doc = f.file ? sources.get(f.file) : undefined;
      if (!doc) {
        out.push({ ...f, message: `${r.environment} render: ${f.message}` });
        continue;
      }
      const { line: _line, ...rest } = f; // a line of the synthetic file means nothing to a reader
      const object = `${doc.object.kind} ${doc.object.metadata?.namespace ?? ''}/${doc.object.metadata?.name ?? ''}`;
      const edited = editedSources(doc, r);
      const origin = edited[0] === doc.source ? `${doc.source}, edited by this change` : doc.source;
      const others = edited.filter((p) => p !== doc.source);
      const also = others.length ? `; the change edits ${others.join(', ')}, which this render reads` : '';
      out.push({
        ...rest,
        // The file to open: the object's own when the change edits it, else the edited input (values, patch, overlay).
        file: edited[0] ?? doc.source,
        message: `${r.environment} render, ${object} (from ${origin}${also}): ${f.message.replaceAll(f.file!, object)}`,
      });
    }
  }
  return out;
}
