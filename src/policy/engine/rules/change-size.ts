// Rules files-per-change and multi-service (agent_policy.yaml max_files_per_pr; "one service at a
// time" from the story's blast-radius budget): a change must stay small enough to review and undo.
import type { Finding } from '../finding';
import type { Rule } from '../check-context';

export const changeSizeRule: Rule = ({ changed, checks, servicesOf, service }) => {
  const findings: Finding[] = [];
  const max = checks.maxFilesPerChange;
  if (changed.length > max) {
    findings.push({
      rule: 'files-per-change',
      level: 'block',
      message: `the change touches ${changed.length} files, more than checks.maxFilesPerChange (${max}): a change this wide cannot be reviewed by the approvers or rolled back as one unit; split it`,
    });
  }
  const byService = new Map<string, string[]>();
  for (const file of changed) {
    for (const service of servicesOf(file.path)) byService.set(service, [...(byService.get(service) ?? []), file.path]);
  }
  if (byService.size > 1) {
    const list = [...byService].map(
      ([s, files]) => `${s} (${files[0]}${files.length > 1 ? ` and ${files.length - 1} more` : ''})`,
    );
    findings.push({
      rule: 'multi-service',
      level: 'block',
      message: `the change touches ${byService.size} services: ${list.join(', ')}. Airlock promotes one service at a time so a bad change has one blast radius; split it per service`,
    });
  }
  // The slot and the rollout are the promotion's service: content of another one would ship unwatched.
  const others = [...byService.keys()].filter((s) => s !== service);
  if (service && others.length) {
    findings.push({
      rule: 'service-mismatch',
      level: 'block',
      message: `the promotion deploys ${service} but the change touches ${others.map((s) => `${s} (${byService.get(s)![0]})`).join(', ')}: those files would reach production without their own promotion`,
    });
  }
  return findings;
};
