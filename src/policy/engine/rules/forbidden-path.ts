// Rule forbidden-path (agent_policy.yaml forbidden_paths): files the agent may never change,
// added, modified or deleted alike.
import type { Finding } from '../finding';
import type { Rule } from '../check-context';
import { createForbiddenMatcher } from '../protected-paths';

export const forbiddenPathRule: Rule = ({ changed, checks, protectedPaths }) => {
  const forbidden = createForbiddenMatcher(checks.forbiddenPaths, protectedPaths);
  const findings: Finding[] = [];
  for (const file of changed) {
    const hit = forbidden(file.path);
    if (!hit) continue;
    findings.push({
      rule: 'forbidden-path',
      level: 'block',
      file: file.path,
      message: hit.protected
        ? `${file.path} (${file.status}) is Airlock's own policy or configuration (${hit.glob}); a change that edits the gate's rules could switch the gate off, so only a human may change it, outside Airlock`
        : `${file.path} (${file.status}) matches forbidden path ${hit.glob} in checks.forbiddenPaths; the agent may not change it — a human must make this change`,
    });
  }
  return findings;
};
