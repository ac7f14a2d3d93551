// Rules files-per-change and multi-service (agent_policy.yaml max_files_per_pr; "one service at a
// time" from the story's blast-radius budget): a change must stay small enough to review and undo.
// Only files that change what deploys count (deployable-files.ts): docs, CI files, application
// source and comment-only edits ship nothing. An image-only change may span more, per
// checks.imageOnlyChanges.
import type { Finding } from '../finding';
import type { Rule } from '../check-context';

const SHOWN = 5;

function listed(files: readonly string[]): string {
  return `${files.slice(0, SHOWN).join(', ')}${files.length > SHOWN ? ` and ${files.length - SHOWN} more` : ''}`;
}

export const changeSizeRule: Rule = ({ deployable, checks, servicesOf, service, imageOnly }) => {
  const findings: Finding[] = [];
  const max = checks.maxFilesPerChange;
  const release = imageOnly ? checks.imageOnlyChanges : 'block';
  if (deployable.length > max && release === 'block') {
    findings.push({
      rule: 'files-per-change',
      level: 'block',
      message: `the change touches ${deployable.length} files, more than checks.maxFilesPerChange (${max}), counting only files whose deployable content changed (${listed(deployable)}): a change this wide cannot be reviewed by the approvers or rolled back as one unit; split it`,
    });
  }
  if (release === 'allow') return findings;
  const byService = new Map<string, string[]>();
  for (const file of deployable) {
    for (const service of servicesOf(file)) byService.set(service, [...(byService.get(service) ?? []), file]);
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
