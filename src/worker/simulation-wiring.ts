// The deployer when no cluster is configured (AIRLOCK_DEPLOYER=simulated, `npm start`, the demo):
// image-tag services move a version in the simulated model; with a clone (AIRLOCK_REPO_DIR),
// services whose policy says how their environments are rendered have the merge commit rendered
// and its objects applied to the simulated object store (`<state file>.objects.json`).
import type { Deployer } from '../integrations/deployer';
import { createSimulatedDeployer } from '../integrations/simulation/simulated-deployer';
import { createSimulatedChangeDeployer } from '../integrations/simulation/simulated-change-deployer';
import { createSimulatedObjectStore } from '../integrations/simulation/simulated-object-store';
import type { LoadedPolicy } from '../policy/config/load';
import type { AirlockConfig } from './config';

/** Where the simulated object store of `stateFile` is mirrored. */
export const simulatedObjectsFile = (stateFile: string) => `${stateFile}.objects.json`;

export function createSimulationWiring(config: AirlockConfig, loadPolicy: () => LoadedPolicy): Deployer {
  const imageDeployer = createSimulatedDeployer({
    stateFile: config.simulationStateFile,
    rolloutMs: config.simulationRolloutMs,
  });
  const rendered = loadPolicy().policy.services.filter((s) => s.environments);
  if (!rendered.length) return imageDeployer;
  if (!config.repoDir)
    throw new Error(
      `config: AIRLOCK_REPO_DIR: required: the policy renders ${rendered.map((s) => s.name).join(', ')} from the repository (services[].environments), and without a clone the simulation would deploy an image tag instead of the change`,
    );
  return createSimulatedChangeDeployer({
    repoDir: config.repoDir,
    services: () => loadPolicy().policy.services,
    // The policy's namespaces when it has a kubernetes section, else one named for the environment.
    namespaceOf: (environment) => loadPolicy().policy.kubernetes?.[environment].namespace ?? environment,
    store: createSimulatedObjectStore({ stateFile: simulatedObjectsFile(config.simulationStateFile) }),
    imageDeployer,
    rolloutMs: config.simulationRolloutMs,
  });
}
