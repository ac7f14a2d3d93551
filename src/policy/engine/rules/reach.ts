// Rule reach (AI-DEPLOY-012): terraform/modules/shared/database.tf was not forbidden, yet the
// production root module used it. A change to a module or base is a change to all its users.
import { posix } from 'node:path';
import type { CheckContext, Rule } from '../check-context';
import type { Finding } from '../finding';
import { createForbiddenMatcher } from '../protected-paths';

export interface Reacher {
  /** The root module directory or overlay kustomization that uses the changed file. */
  user: string;
  /** Representative file of the user (a .tf file or the kustomization). */
  userFile: string;
  /** Modules or kustomizations between the changed file and the user. */
  via: string[];
  kind: 'Terraform module' | 'Kustomize base';
}

/** Every Terraform module and Kustomize overlay that uses the file, directly or transitively. */
export function reachersOf(ctx: CheckContext, path: string): Reacher[] {
  const out: Reacher[] = [];
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (ctx.terraformModules.files.has(dir)) {
    for (const { node, via } of ctx.terraformModules.graph.usersOf(dir)) {
      for (const userFile of ctx.terraformModules.files.get(node) ?? []) {
        out.push({ user: node, userFile, via: via.slice(1), kind: 'Terraform module' });
      }
    }
  }
  for (const { node, via } of ctx.kustomizeBases.graph.usersOf(path)) {
    out.push({ user: posix.dirname(node), userFile: node, via: via.slice(1), kind: 'Kustomize base' });
  }
  return out;
}

export const reachRule: Rule = (ctx) => {
  const forbidden = createForbiddenMatcher(ctx.checks.forbiddenPaths, ctx.protectedPaths);
  const findings: Finding[] = [];
  for (const file of ctx.changed) {
    if (forbidden(file.path)) continue; // already a forbidden-path finding of its own
    const hit = reachersOf(ctx, file.path)
      .map((r) => ({ r, match: forbidden(r.userFile) }))
      .find((x) => x.match);
    if (!hit) continue;
    const { r, match } = hit;
    const via = r.via.length ? ` (through ${r.via.join(' → ')})` : '';
    findings.push({
      rule: 'reach',
      level: 'block',
      file: file.path,
      message:
        `${file.path} is part of a ${r.kind} used by ${r.user}${via}, which is forbidden (${match!.glob}): ` +
        `changing it changes ${r.user} too, so it is treated as a change to that path (AI-DEPLOY-012: a "shared" module edit reached the production database)`,
    });
  }
  return findings;
};
