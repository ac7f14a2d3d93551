// The change as objects, not files: every document of the change's YAML files matched across ALL
// of them by kind, namespace and name, so an object that a file edit leaves as it was is unchanged,
// an object moved to another file is compared with itself, and only what the change alters is judged.
import { isDeepStrictEqual } from 'node:util';
import type { ParsedManifests } from './check-context';
import type { ManifestDoc } from './manifest';

/**
 * added / deleted / modified (parsed value not deep-equal) / unchanged; `uncompared` when the
 * object's file did not parse at the base, so what it was before is not known.
 */
export type ObjectStatus = 'added' | 'deleted' | 'modified' | 'unchanged' | 'uncompared';

export interface ObjectChange {
  key: string;
  status: ObjectStatus;
  /** The object at the base (absent when added or uncompared). */
  before?: ManifestDoc;
  /** The object at the head (absent when deleted). */
  after?: ManifestDoc;
  /** It lives in another file at the head than at the base. */
  moved: boolean;
}

/**
 * kind/namespace/name, the object's identity in the cluster. The apiVersion group is left out: an
 * object migrated from extensions/v1beta1 to apps/v1 is the same object, judged as modified.
 * A document without kind or name (values files, kustomizations, CI files) is known by its place.
 */
export function objectKey(doc: ManifestDoc): string {
  if (!doc.kind || !doc.name) return `${doc.file}#${doc.index}`;
  return `${doc.kind}/${doc.namespace ?? 'default'}/${doc.name}`;
}

function group(docs: ManifestDoc[]): Map<string, ManifestDoc[]> {
  const out = new Map<string, ManifestDoc[]>();
  for (const doc of docs) {
    const key = objectKey(doc);
    const list = out.get(key);
    if (list) list.push(doc);
    else out.set(key, [doc]);
  }
  return out;
}

function pair(key: string, before: ManifestDoc, after: ManifestDoc): ObjectChange {
  // Compared structurally, never stringified: an aliased tree would be expanded whole.
  const same = before.value === after.value || isDeepStrictEqual(before.value, after.value);
  return { key, status: same ? 'unchanged' : 'modified', before, after, moved: before.file !== after.file };
}

/**
 * Matches one key's documents. The same key may appear in several files of a side (an object
 * repeated per overlay directory): pairs in the same file first, then equal content (a move), then,
 * when exactly one of each is left, the two (a move that also edits it). The rest are added or deleted.
 */
function matchKey(key: string, before: ManifestDoc[], after: ManifestDoc[]): ObjectChange[] {
  if (before.length === 1 && after.length === 1) return [pair(key, before[0], after[0])];
  const out: ObjectChange[] = [];
  const left = [...before];
  const right: ManifestDoc[] = [];
  const take = (doc: ManifestDoc, fits: (b: ManifestDoc) => boolean) => {
    const i = left.findIndex(fits);
    if (i < 0) return false;
    out.push(pair(key, left.splice(i, 1)[0], doc));
    return true;
  };
  for (const doc of after) if (!take(doc, (b) => b.file === doc.file)) right.push(doc);
  const unmatched = right.filter((doc) => !take(doc, (b) => isDeepStrictEqual(b.value, doc.value)));
  if (left.length === 1 && unmatched.length === 1) return [...out, pair(key, left[0], unmatched[0])];
  for (const doc of left) out.push({ key, status: 'deleted', before: doc, moved: false });
  for (const doc of unmatched) out.push({ key, status: 'added', after: doc, moved: false });
  return out;
}

/** Every object of the change's YAML files, matched across files, in the order of the files. */
export function diffObjects(manifests: readonly ParsedManifests[]): ObjectChange[] {
  const compared = manifests.filter((m) => !m.baseUnparseable);
  const before = group(compared.flatMap((m) => m.before));
  const after = group(compared.flatMap((m) => m.after));
  const out: ObjectChange[] = [];
  for (const [key, docs] of after) out.push(...matchKey(key, before.get(key) ?? [], docs));
  for (const [key, docs] of before) {
    if (!after.has(key)) for (const doc of docs) out.push({ key, status: 'deleted', before: doc, moved: false });
  }
  for (const m of manifests) {
    if (m.baseUnparseable)
      for (const doc of m.after) out.push({ key: objectKey(doc), status: 'uncompared', after: doc, moved: false });
  }
  return out;
}

/** The objects the change alters (added, deleted, modified, moved or not comparable). */
export function alteredObjects(objects: readonly ObjectChange[]): ObjectChange[] {
  return objects.filter((o) => o.status !== 'unchanged' || o.moved);
}

/** Objects the change adds, edits or cannot compare, at the head: what content rules judge. */
export function headObjects(objects: readonly ObjectChange[]): (ObjectChange & { after: ManifestDoc })[] {
  return objects.filter(
    (o): o is ObjectChange & { after: ManifestDoc } => o.after !== undefined && o.status !== 'unchanged',
  );
}

/** The files whose parsed objects the change alters (a move alters both files). */
export function filesAltered(objects: readonly ObjectChange[]): Set<string> {
  const out = new Set<string>();
  for (const o of alteredObjects(objects)) {
    if (o.before) out.add(o.before.file);
    if (o.after) out.add(o.after.file);
  }
  return out;
}
