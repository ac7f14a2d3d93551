// The change as the engine sees it: two trees (before and after) and the files that differ.
// Trees are read through FileTree so the same engine runs on directories and on git commits.

/** What no rule can read through: a symbolic link, or a submodule (a gitlink, another repository's commit). */
export type SpecialKind = 'symlink' | 'submodule';

export interface SpecialEntry {
  path: string;
  kind: SpecialKind;
  /** What it points at: a git object id, a link's target, or the nested repository's `.git`. */
  id: string;
}

export interface FileTree {
  /** Every regular file path in the tree, '/'-separated and relative to the tree's root. */
  paths(): readonly string[];
  /** A file's size in bytes, known without reading it (the git tree entry, a stat). */
  size?(path: string): number | undefined;
  /** Symlinks and submodules: not in paths(), so the engine must look at them on their own. */
  specials?(): readonly SpecialEntry[];
  /** A cheap identity of a file's content (a git blob id), so a diff need not read every file. */
  contentId?(path: string): string | undefined;
  /** Reads many files at once (one git process, not one per file). Missing paths are left out. */
  read(paths: readonly string[]): Promise<Map<string, string>>;
}

export type FileStatus = 'added' | 'modified' | 'deleted';

export interface ChangedFile {
  path: string;
  status: FileStatus;
  /** Content before the change (absent when added). */
  before?: string;
  /** Content after the change (absent when deleted). */
  after?: string;
}

export interface ChangeTrees {
  base: FileTree;
  head: FileTree;
}

/** The paths that may differ, sorted: with content ids only those whose id differs, otherwise every path. */
export function candidatePaths({ base, head }: ChangeTrees): string[] {
  const basePaths = new Set(base.paths());
  const headPaths = new Set(head.paths());
  const all = [...new Set([...basePaths, ...headPaths])].sort();
  return all.filter((p) => {
    if (!basePaths.has(p) || !headPaths.has(p)) return true;
    const a = base.contentId?.(p);
    const b = head.contentId?.(p);
    return a === undefined || b === undefined || a !== b;
  });
}

/**
 * The files that differ between the trees, with both contents, sorted by path. `skip`: paths never
 * read (files over the size limit, blocked on their own).
 */
export async function diffTrees(trees: ChangeTrees, o: { skip?: ReadonlySet<string> } = {}): Promise<ChangedFile[]> {
  const { base, head } = trees;
  const basePaths = new Set(base.paths());
  const headPaths = new Set(head.paths());
  const candidates = candidatePaths(trees).filter((p) => !o.skip?.has(p));
  const [before, after] = await Promise.all([
    base.read(candidates.filter((p) => basePaths.has(p))),
    head.read(candidates.filter((p) => headPaths.has(p))),
  ]);
  const changed: ChangedFile[] = [];
  for (const path of candidates) {
    const b = before.get(path);
    const a = after.get(path);
    if (b === undefined && a === undefined) continue;
    if (b === undefined) changed.push({ path, status: 'added', after: a });
    else if (a === undefined) changed.push({ path, status: 'deleted', before: b });
    else if (a !== b) changed.push({ path, status: 'modified', before: b, after: a });
  }
  return changed;
}

/** Symlinks and submodules the change adds or alters (a file turned into a link included), sorted by path. */
export function changedSpecials({ base, head }: ChangeTrees): SpecialEntry[] {
  const before = new Map((base.specials?.() ?? []).map((e) => [e.path, e]));
  return (head.specials?.() ?? [])
    .filter((e) => {
      const old = before.get(e.path);
      return !old || old.kind !== e.kind || old.id !== e.id;
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}
