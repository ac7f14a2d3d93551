// The always-on reporter: one structured log line per stage change, in the worker's log.
import { log } from '@temporalio/activity';
import type { Reporter } from '../reporter';

export function createLogReporter(): Reporter {
  return {
    name: 'log',
    async report(state) {
      log.info(
        `promotion ${state.workflowId}: stage=${state.stage}${state.outcome ? ` outcome=${state.outcome}` : ''}`,
        {
          service: state.change.service,
          commit: state.change.commit,
          stage: state.stage,
          outcome: state.outcome,
          approvals: state.approvals.map((a) => a.approver),
          interruption: state.interruption?.kind,
        },
      );
    },
  };
}
