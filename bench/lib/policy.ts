// The bench's policy: the test policy's approvers and rules, with as many services as a run needs
// in flight at once (the slot never lets two changes of one service run together) and limits raised.
import { testPublicKey } from '../../test/helpers/approver-keys';

export interface BenchPolicy {
  services: number;
  /** Hours; under 24 the policy says allowShortBake, as any shortened bake must. */
  bakeHours: number;
  canaryMinutes: number;
  productionWatchMinutes: number;
  maxSilenceMinutes: number;
  maxServicesInFlight: number;
  maxStartsPerHour: number;
  /** Extra keys of the monitoring section (poll interval, metrics source), as JSON. */
  monitoring?: Record<string, unknown>;
}

export const serviceName = (i: number) => `svc-${String(i).padStart(4, '0')}`;
export const servicePath = (i: number) => `k8s/staging/${serviceName(i)}/deployment.yaml`;

export function benchPolicyYaml(o: BenchPolicy): string {
  const services = Array.from(
    { length: o.services },
    (_, i) => `  - { name: ${serviceName(i)}, paths: ["k8s/*/${serviceName(i)}/**"] }`,
  ).join('\n');
  return `version: 1
authors:
  agents: ["airlock-agent[bot]"]
approvers:
  required: 2
  allowed:
    - { id: alice, publicKey: "${testPublicKey('alice')}" }
    - { id: bob, publicKey: "${testPublicKey('bob')}" }
bake: { minHours: ${o.bakeHours}${o.bakeHours < 24 ? ', allowShortBake: true' : ''} }
canary: { percent: 10, minMinutes: ${o.canaryMinutes} }
production: { watchMinutes: ${o.productionWatchMinutes} }
approval: { timeoutHours: 72 }
rollback: { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 }
monitoring: ${JSON.stringify({ maxSilenceMinutes: o.maxSilenceMinutes, ...o.monitoring })}
blastRadius: { maxServicesInFlight: ${o.maxServicesInFlight}, maxStartsPerHour: ${o.maxStartsPerHour} }
services:
${services}
`;
}
