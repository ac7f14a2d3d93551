// Base render vs head render, by identity: which objects the change adds, removes or keeps. The
// integrator snapshots the union (kept and removed exist before; added must not exist after a
// rollback) and prunes `removed`.
import { objectIdentity, type RenderedObject } from './rendered-object';

export interface RenderComparison {
  /** Only in head: created by the change. */
  added: string[];
  /** Only in base: deleted by the change. */
  removed: string[];
  /** In both (their content may differ: the diff says how). */
  kept: string[];
}

export function compareRenders(base: readonly RenderedObject[], head: readonly RenderedObject[]): RenderComparison {
  const before = new Set(base.map((r) => objectIdentity(r.object)));
  const after = new Set(head.map((r) => objectIdentity(r.object)));
  const sorted = (ids: Iterable<string>) => [...ids].sort();
  return {
    added: sorted([...after].filter((id) => !before.has(id))),
    removed: sorted([...before].filter((id) => !after.has(id))),
    kept: sorted([...after].filter((id) => before.has(id))),
  };
}
