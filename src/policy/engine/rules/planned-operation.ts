// Rule planned-operation: while a window covers a service, scaling it is blocked (no_scaling and
// freeze alike: a freeze is the stronger promise). Deploy timing itself is deployWait's job.
import type { Finding } from '../finding';
import type { Rule } from '../check-context';
import { activeWindows, formatWindow } from '../planned-operations';
import { scalingChanges } from './replicas';

export const plannedOperationRule: Rule = (ctx) => {
  const findings: Finding[] = [];
  // A count whose base did not parse may not have changed at all (base-unparseable says so).
  for (const s of scalingChanges(ctx).filter((c) => !c.uncompared)) {
    for (const service of ctx.servicesOf(s.file)) {
      const windows = activeWindows(ctx.checks.plannedOperations, service, ctx.now);
      if (!windows.length) continue;
      findings.push({
        rule: 'planned-operation',
        level: 'block',
        file: s.file,
        line: s.line,
        message:
          `${s.what} changes ${s.from === undefined ? '' : `from ${s.from} `}to ${s.to} while planned operation ${windows.map(formatWindow).join(', ')} ` +
          `covers ${service}: load during the window is expected, not a reason to scale (AI-DEPLOY-001). Retry after the window ends`,
      });
    }
  }
  return findings;
};
