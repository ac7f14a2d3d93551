// Image-only changes: a release that moves image tags or digests and nothing else. Recognized so the
// policy (checks.imageOnlyChanges) can let one span files and services, and so approvers read it as such.
import type { ManifestDoc } from './manifest';
import type { ObjectChange } from './object-changes';
import { podSpecPath, workloadLabel } from './workload';

export interface ImageMove {
  file: string;
  /** The object and container, e.g. `Deployment web, container "app"`. */
  where: string;
  from: string;
  to: string;
}

export interface ImageOnlyChange {
  moves: ImageMove[];
  /** Files whose objects moved images (every file of the change that deploys anything). */
  files: string[];
}

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];
// A kustomization's `images:` entries retag images without touching the manifests.
const KUSTOMIZE_IMAGE_FIELDS = ['newTag', 'newName', 'digest'];

/** Field paths (joined by '/') where an image reference lives in the document. */
function imagePaths(doc: ManifestDoc): Map<string, string> {
  const out = new Map<string, string>();
  const value = doc.value as Record<string, unknown>;
  const spec = podSpecPath(doc.kind);
  if (spec) {
    let at: unknown = value;
    for (const k of spec) at = at && typeof at === 'object' ? (at as Record<string | number, unknown>)[k] : undefined;
    for (const list of CONTAINER_LISTS) {
      const items = at && typeof at === 'object' ? (at as Record<string, unknown>)[list] : undefined;
      if (!Array.isArray(items)) continue;
      items.forEach((c: unknown, i) => {
        const name = c && typeof c === 'object' ? (c as { name?: unknown }).name : undefined;
        out.set(
          `/${[...spec, list, i, 'image'].join('/')}`,
          `container "${typeof name === 'string' ? name : `#${i}`}"`,
        );
      });
    }
  }
  if (doc.kind === 'Kustomization' && Array.isArray(value.images)) {
    value.images.forEach((img: unknown, i) => {
      const name = img && typeof img === 'object' ? (img as { name?: unknown }).name : undefined;
      for (const f of KUSTOMIZE_IMAGE_FIELDS) out.set(`/images/${i}/${f}`, `image ${String(name)} (${f})`);
    });
  }
  return out;
}

/** Deep equality that ignores the listed paths; records the ignored values that differ. */
function equalExcept(a: unknown, b: unknown, skip: Map<string, string>, path: string, differ: string[]): boolean {
  if (skip.has(path)) {
    if (a !== b) differ.push(path);
    return (a === undefined || typeof a === 'string') && (b === undefined || typeof b === 'string');
  }
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => equalExcept(x, bb[i], skip, `${path}/${i}`, differ));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) {
    const sub = `${path}/${k}`;
    if (!(k in ra && k in rb) && !skip.has(sub)) return false;
    if (!equalExcept(ra[k], rb[k], skip, sub, differ)) return false;
  }
  return true;
}

function imageMoves(o: ObjectChange): ImageMove[] | undefined {
  const { before, after } = o;
  if (!before || !after) return undefined;
  const skip = new Map([...imagePaths(before), ...imagePaths(after)]);
  if (!skip.size) return undefined;
  const differ: string[] = [];
  if (!equalExcept(before.value, after.value, skip, '', differ) || !differ.length) return undefined;
  const at = (v: unknown, path: string) =>
    path
      .split('/')
      .slice(1)
      .reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), v);
  return differ.map((path) => ({
    file: after.file,
    where: `${workloadLabel(after)}, ${skip.get(path)}`,
    from: String(at(before.value, path) ?? '(none)'),
    to: String(at(after.value, path) ?? '(none)'),
  }));
}

/**
 * The image moves when they are the change's only effect: no object added, deleted, moved or
 * uncompared, every modified object differing in image references alone, and no other file that
 * deploys anything (Terraform, templates, generator inputs) changed.
 */
export function detectImageOnly(
  objects: readonly ObjectChange[],
  deployable: readonly string[],
): ImageOnlyChange | undefined {
  const moves: ImageMove[] = [];
  for (const o of objects) {
    if (o.status === 'unchanged' && !o.moved) continue;
    if (o.status !== 'modified' || o.moved) return undefined;
    const m = imageMoves(o);
    if (!m) return undefined;
    moves.push(...m);
  }
  if (!moves.length) return undefined;
  const files = new Set(moves.map((m) => m.file));
  return deployable.every((f) => files.has(f)) ? { moves, files: [...files] } : undefined;
}
