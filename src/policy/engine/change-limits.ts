// What the engine refuses before reading a byte of content: files and changes over the size limits
// (sizes come from the tree, so nothing large is read whole) and symlinks and submodules (no rule
// reads through them, so a link to a forbidden path or another repository's commit would pass unseen).
import { changedSpecials, type ChangeTrees, type SpecialEntry } from './change-files';
import type { ChecksPolicy } from '../config/checks-schema';
import type { Finding } from './finding';

/** Rules whose findings mean the change's content was not (all) read: nothing else may read it either. */
export const LIMIT_RULES: ReadonlySet<string> = new Set(['file-too-large', 'change-too-large', 'symlink', 'submodule']);

export interface LimitCheck {
  findings: Finding[];
  /** Candidate files over maxFileBytes: never read. */
  unread: Set<string>;
  /** Over maxChangeBytes: no content is read at all. */
  tooLarge: boolean;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 3 : 1)} MiB`;

function specialFinding(e: SpecialEntry): Finding {
  const what =
    e.kind === 'symlink'
      ? `${e.path} is a symbolic link: no rule reads through a link, so one to a forbidden path, a secret or outside the repository would pass unseen (and kustomize or Helm would follow it). Commit the file itself`
      : `${e.path} is a submodule (${/^[0-9a-f]{40,64}$/.test(e.id) ? `commit ${e.id.slice(0, 12)} of ` : ''}another repository): its content is not in this change, so no rule can check it. Vendor the files or promote that repository on its own`;
  return { rule: e.kind, level: 'block', file: e.path, message: what };
}

export function checkLimits(trees: ChangeTrees, candidates: readonly string[], checks: ChecksPolicy): LimitCheck {
  const findings = changedSpecials(trees).map(specialFinding);
  const unread = new Set<string>();
  const basePaths = new Set(trees.base.paths());
  const headPaths = new Set(trees.head.paths());
  let total = 0;
  for (const path of candidates) {
    const before = basePaths.has(path) ? trees.base.size?.(path) : undefined;
    const after = headPaths.has(path) ? trees.head.size?.(path) : undefined;
    total += after ?? before ?? 0;
    const largest = Math.max(before ?? 0, after ?? 0);
    if (largest <= checks.maxFileBytes) continue;
    unread.add(path);
    findings.push({
      rule: 'file-too-large',
      level: 'block',
      file: path,
      message: `${path} is ${mib(largest)}, more than checks.maxFileBytes (${mib(checks.maxFileBytes)}): it was not read, so no rule checked it. Infrastructure files this large are generated or data; keep them out of the repository or raise the limit in the policy`,
    });
  }
  const tooLarge = total > checks.maxChangeBytes;
  if (tooLarge)
    findings.push({
      rule: 'change-too-large',
      level: 'block',
      message: `the change's files hold ${mib(total)}, more than checks.maxChangeBytes (${mib(checks.maxChangeBytes)}): none of it was read, so no rule checked it. Split the change`,
    });
  return { findings, unread, tooLarge };
}
