// The render integration: what an environment's objects are at a commit (kustomize, Helm, plain
// manifests), read from the worker's clone by commit. No Temporal here; activities call it.
export { renderKubernetes, type RenderOptions } from './render-kubernetes';
export { objectIdentity, type KubernetesObject, type RenderedObject } from './rendered-object';
export { compareRenders, type RenderComparison } from './compare-renders';
export { RenderError } from './render-error';
export { CommitNotFoundError } from './commit-tree';
export { renderToolPath, type RenderTool } from './render-tools';
export { objectScope, type ObjectScope, type ScopeLookup } from './object-scope';
