// Rules sensitive-secrets / -networking / -database / -production: categories a human must see
// (story's REQUIRE_HUMAN_APPROVAL list). The policy sets each to block or warn.
import type { CheckContext, Rule } from '../check-context';
import type { SensitiveCategory } from '../../config/checks-schema';
import type { Finding } from '../finding';
import { isProductionNamespace, isProductionPath } from '../production-paths';
import { manifestHits, terraformHits, textHits, type SensitiveHit } from '../sensitive-content';
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
  for (const file of ctx.changed) {
    add(file.path, textHits(file.path, file.after ?? file.before ?? ''));
    if (isProductionPath(file.path)) add(file.path, [{ category: 'production', reason: 'is under a production path' }]);
    else {
      const user = reachersOf(ctx, file.path).find((r) => isProductionPath(r.userFile));
      if (user)
        add(file.path, [{ category: 'production', reason: `is used by ${user.user} (${user.kind.toLowerCase()})` }]);
    }
  }
  for (const { file, before, after } of ctx.manifests) {
    // A deleted Secret or NetworkPolicy is as sensitive as a new one.
    for (const doc of file.status === 'deleted' ? before : after) {
      add(file.path, manifestHits(doc));
      if (isProductionNamespace(doc.namespace))
        add(file.path, [
          {
            category: 'production',
            reason: `targets namespace ${doc.namespace}`,
            line: doc.line(['metadata', 'namespace']),
          },
        ]);
    }
  }
  for (const { file, before, after } of ctx.terraform) {
    const json = after ?? before;
    if (json) add(file.path, terraformHits(json, file.after ?? file.before ?? ''));
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
