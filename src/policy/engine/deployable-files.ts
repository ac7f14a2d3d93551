// Which changed files change what deploys: the files files-per-change counts and multi-service
// attributes to services. Docs, CI files, application source and comment-only edits ship nothing.
import { posix } from 'node:path';
import type { ChangedFile } from './change-files';
import type { ParsedManifests } from './check-context';
import { isKustomizationPath } from './kustomize-bases';
import { isYamlPath } from './manifest';
import { isTerraformPath } from './terraform-file';
import { filesAltered, type ObjectChange } from './object-changes';

// Prose beside a chart or an overlay is read by people, not by kustomize or Helm.
const DOC_FILE = /\.(md|markdown|txt|rst|adoc)$|(^|\/)(LICENSE|NOTICE|OWNERS|CODEOWNERS)[^/]*$/i;
const CHART_FILE = /(^|\/)Chart\.ya?ml$/;

export interface DeployableInput {
  changed: readonly ChangedFile[];
  manifests: readonly ParsedManifests[];
  objects: readonly ObjectChange[];
  /** Terraform files whose parsed JSON the change alters (or that do not parse). */
  terraform: ReadonlySet<string>;
  /** Every path of both trees: where charts and kustomizations live. */
  allPaths: ReadonlySet<string>;
}

/**
 * Directories whose files kustomize or Helm read (a kustomization's generators, a chart's `files/`
 * and templates), found from the kustomization and Chart.yaml files of both trees.
 */
function renderRoots(allPaths: ReadonlySet<string>): string[] {
  const roots = new Set<string>();
  for (const p of allPaths) if (isKustomizationPath(p) || CHART_FILE.test(p)) roots.add(posix.dirname(p));
  return [...roots];
}

const under = (path: string, root: string) => root === '.' || path.startsWith(`${root}/`);

/** A YAML document Kubernetes would apply (as opposed to a CI workflow or a tool's settings). */
function isKubernetesObject(doc: { value: unknown; kind?: string }): boolean {
  return doc.kind !== undefined && typeof (doc.value as { apiVersion?: unknown }).apiVersion === 'string';
}

/** The changed files whose parsed deployable content changed, in path order. */
export function deployableFiles(input: DeployableInput): string[] {
  const roots = renderRoots(input.allPaths);
  const inRender = (path: string) => roots.some((r) => under(path, r));
  const altered = filesAltered(input.objects);
  const parsed = new Map(input.manifests.map((m) => [m.file.path, m]));
  const counts = (file: ChangedFile): boolean => {
    if (isTerraformPath(file.path)) return input.terraform.has(file.path);
    if (isYamlPath(file.path)) {
      const m = parsed.get(file.path);
      // Not parsed: a Helm template or a file that does not parse; either may deploy anything.
      if (!m) return true;
      if (m.baseUnparseable) return true;
      if (!altered.has(file.path)) return false; // a comment-only or formatting-only edit
      return (
        isKustomizationPath(file.path) || inRender(file.path) || [...m.before, ...m.after].some(isKubernetesObject)
      );
    }
    if (file.path.endsWith('.tfvars') || file.path.endsWith('.tfvars.json')) return true;
    return inRender(file.path) && !DOC_FILE.test(file.path);
  };
  return input.changed.filter(counts).map((f) => f.path);
}
