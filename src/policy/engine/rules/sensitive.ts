// Rules sensitive-secrets / -networking / -database / -production: categories a human must see
// (story's REQUIRE_HUMAN_APPROVAL list). The policy sets each to block or warn.
import type { CheckContext, Rule } from '../check-context';
import type { SensitiveCategory } from '../../config/checks-schema';
import type { Finding } from '../finding';
import { isProductionNamespace, isProductionPath } from '../production-paths';
import { manifestHits, terraformHits, textHits, type SensitiveHit } from '../sensitive-content';
import { filesAltered } from '../object-changes';
import { reachersOf } from './reach';

const WHY: Record<SensitiveCategory, string> = {
  secrets: 'credentials must never pass through an agent-made change',
  networking: 'a wrong rule can expose a service or cut it off',
  database: 'schema and index changes lock tables and cannot simply be rolled back (AI-DEPLOY-012)',
  production: 'it changes what production runs; the agent was never to touch production directly',
};

function hitsOf(ctx: CheckContext): Map<string, SensitiveHit[]> {
  const byFile = new Map<string, SensitiveHit[]>();
  const add = (path: string, hits: SensitiveHit[]) => byFile.set(path, [...(byFile.get(path) ?? []), ...hits]);
  // A YAML or Terraform file whose parsed content is as it was (a comment or formatting edit) changes nothing.
  const altered = new Set([
    ...filesAltered(ctx.objects),
    ...ctx.manifests.filter((m) => m.baseUnparseable).map((m) => m.file.path),
  ]);
  const manifests = new Set(ctx.manifests.map((m) => m.file.path));
  const terraform = new Map(ctx.terraform.map((t) => [t.file.path, t.altered]));
  for (const file of ctx.changed) {
    const inert = manifests.has(file.path) ? !altered.has(file.path) : terraform.get(file.path) === false;
    const hits = textHits(file.path, file.after ?? file.before ?? '');
    if (inert) {
      // A credential in a comment is still a leak, but only when this change brings it.
      const known = new Set(textHits(file.path, file.before ?? '').map((h) => h.reason));
      add(
        file.path,
        hits.filter((h) => h.category === 'secrets' && !known.has(h.reason)),
      );
      continue;
    }
    add(file.path, hits);
    if (isProductionPath(file.path)) add(file.path, [{ category: 'production', reason: 'is under a production path' }]);
    else {
      const user = reachersOf(ctx, file.path).find((r) => isProductionPath(r.userFile));
      if (user)
        add(file.path, [{ category: 'production', reason: `is used by ${user.user} (${user.kind.toLowerCase()})` }]);
    }
  }
  // Objects the change adds, edits or deletes, matched across files: an unchanged LoadBalancer in an
  // edited file, or a NetworkPolicy moved to another file as it was, is not a networking change.
  for (const o of ctx.objects) {
    if (o.status === 'unchanged') continue;
    // A deleted Secret or NetworkPolicy is as sensitive as a new one.
    const doc = o.after ?? o.before!;
    add(doc.file, manifestHits(doc));
    if (isProductionNamespace(doc.namespace))
      add(doc.file, [
        {
          category: 'production',
          reason: `targets namespace ${doc.namespace}`,
          line: doc.line(['metadata', 'namespace']),
        },
      ]);
  }
  for (const { file, before, after, altered: changed } of ctx.terraform) {
    const json = after ?? before;
    if (json && changed) add(file.path, terraformHits(json, file.after ?? file.before ?? ''));
  }
  return byFile;
}

export const sensitiveRule: Rule = (ctx) => {
  const findings: Finding[] = [];
  for (const [path, hits] of hitsOf(ctx)) {
    const categories = [...new Set(hits.map((h) => h.category))];
    for (const category of categories) {
      const mine = hits.filter((h) => h.category === category);
      const reasons = [...new Set(mine.map((h) => h.reason))];
      const level = ctx.checks.sensitive[category];
      findings.push({
        rule: `sensitive-${category}`,
        level,
        file: path,
        line: mine.find((h) => h.line !== undefined)?.line,
        message:
          `${category} change: ${path} ${reasons.join('; ')}. ${level === 'block' ? 'Blocked' : 'Approvers must look at this'}: ${WHY[category]} ` +
          `(checks.sensitive.${category}: ${level})`,
      });
    }
  }
  return findings;
};
