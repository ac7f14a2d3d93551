// Rule image-only: a change that only moves image tags or digests, said as such so approvers read
// a release for what it is. What it may span is checks.imageOnlyChanges (rules/change-size.ts).
import type { Rule } from '../check-context';

const SHOWN = 5;

const EFFECT = {
  block: 'it is judged like any other change (files-per-change and multi-service apply)',
  allow: 'it may span files and services (files-per-change, multi-service and service-mismatch do not apply)',
  'promote-per-service':
    'it may span files (files-per-change does not apply) but each service is promoted on its own (multi-service and service-mismatch apply)',
} as const;

export const imageOnlyRule: Rule = ({ imageOnly, checks, servicesOf }) => {
  if (!imageOnly) return [];
  const services = [...new Set(imageOnly.files.flatMap(servicesOf))].sort();
  const moves = imageOnly.moves.map((m) => `${m.where} in ${m.file}: ${m.from} → ${m.to}`);
  const more = moves.length > SHOWN ? ` and ${moves.length - SHOWN} more` : '';
  const setting = checks.imageOnlyChanges;
  return [
    {
      rule: 'image-only',
      level: 'warn',
      file: imageOnly.files[0],
      message:
        `image-only change: the only effect on every object is its image references (${moves.slice(0, SHOWN).join('; ')}${more})` +
        `${services.length ? `, in ${services.length} service(s): ${services.join(', ')}` : ''}. ` +
        `checks.imageOnlyChanges is ${setting}: ${EFFECT[setting]}. Approvers must still check each image is the build they expect`,
    },
  ];
};
