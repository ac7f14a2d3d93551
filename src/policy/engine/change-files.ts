// The change as the engine sees it: two trees (before and after) and the files that differ.
// Trees are read through FileTree so the same engine runs on directories and on git commits.

export interface FileTree {
  /** Every file path in the tree, '/'-separated and relative to the tree's root. */
  paths(): readonly string[];
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

/** The files that differ between the trees, with both contents, sorted by path. */
export async function diffTrees({ base, head }: ChangeTrees): Promise<ChangedFile[]> {
  const basePaths = new Set(base.paths());
  const headPaths = new Set(head.paths());
  const all = [...new Set([...basePaths, ...headPaths])].sort();
  // With content ids, only files whose id differs are read; otherwise both sides are read and compared.
  const candidates = all.filter((p) => {
    if (!basePaths.has(p) || !headPaths.has(p)) return true;
    const a = base.contentId?.(p);
    const b = head.contentId?.(p);
    return a === undefined || b === undefined || a !== b;
  });
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
