// A change given as two maps of path -> text, for tests that need no fixture directory or clone.
import type { ChangeTrees, FileTree } from '../../src/policy/engine/change-files';

export function memoryTree(files: Record<string, string>): FileTree {
  return {
    paths: () => Object.keys(files),
    read: async (paths) => new Map(paths.filter((p) => p in files).map((p) => [p, files[p]] as const)),
  };
}

export function memoryTrees(base: Record<string, string>, head: Record<string, string>): ChangeTrees {
  return { base: memoryTree(base), head: memoryTree(head) };
}
