// The "who uses this" graph of a repository: Terraform root modules → child modules, Kustomize
// overlays → bases. A change to a node is a change to everything that reaches it.
import { posix } from 'node:path';

export class ReachGraph {
  /** used → users */
  private readonly users = new Map<string, Set<string>>();

  addUse(user: string, used: string): void {
    if (user === used) return;
    let set = this.users.get(used);
    if (!set) this.users.set(used, (set = new Set()));
    set.add(user);
  }

  /** Every node that uses `start`, directly or transitively, with the chain that leads there. */
  usersOf(start: string): { node: string; via: string[] }[] {
    const out: { node: string; via: string[] }[] = [];
    const seen = new Set([start]);
    const queue: { node: string; via: string[] }[] = [{ node: start, via: [] }];
    while (queue.length) {
      const { node, via } = queue.shift()!;
      for (const user of this.users.get(node) ?? []) {
        if (seen.has(user)) continue; // module cycles are invalid Terraform, but must not hang the gate
        seen.add(user);
        const entry = { node: user, via: [...via, node] };
        out.push(entry);
        queue.push(entry);
      }
    }
    return out;
  }
}

/** Resolves a relative reference against a directory; undefined when it leaves the repository. */
export function resolveRepoPath(dir: string, ref: string): string | undefined {
  const joined = posix.normalize(posix.join(dir, ref)).replace(/\/$/, '');
  if (joined.startsWith('..') || posix.isAbsolute(joined)) return undefined;
  return joined === '.' ? '' : joined;
}
