// What a render produces: the objects an environment should have at a commit, each with the repo
// file it came from (for findings and diffs that name the file a human edits).
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface RenderedObject {
  /** Plain JSON, as the tool printed it (namespace filled in for namespaced kinds). */
  object: KubernetesObject;
  /**
   * The repo-relative file that produced it, best effort: kustomize's origin annotation (the base
   * resource file, or the kustomization whose generator made it), Helm's `# Source:` template, or
   * the manifest file.
   */
  source: string;
}

/** `apiVersion/kind/namespace/name`; the namespace is empty for cluster-scoped objects. */
export function objectIdentity(obj: Pick<KubernetesObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${obj.apiVersion}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
