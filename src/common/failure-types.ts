// Airlock's failure kinds: the `type` of every ApplicationFailure it raises, readable in the
// Temporal UI and asserted on by tests. Pure: shared by workflows and activities.
export const FailureType = {
  PolicyInvalid: 'AirlockPolicyInvalid',
  DeployFailed: 'AirlockDeployFailed',
  DeployRejected: 'AirlockDeployRejected',
  RollbackFailed: 'AirlockRollbackFailed',
  InvariantViolated: 'AirlockInvariantViolated',
  CodeHostUnavailable: 'AirlockCodeHostUnavailable',
  ReporterRejected: 'AirlockReporterRejected',
  /** A human decision whose identity could not be established (forged, replayed, unsigned, stale). */
  DecisionRefused: 'AirlockDecisionRefused',
  /** The policy names a metrics source this worker cannot build: the workflow falls back to its own silence clock. */
  MetricsSourceUnavailable: 'AirlockMetricsSourceUnavailable',
  /** A promotion's history cannot be read (gone after the namespace's retention): its compensation cannot tell what to restore. */
  PromotionHistoryMissing: 'AirlockPromotionHistoryMissing',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
