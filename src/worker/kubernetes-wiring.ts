// Plugs a real cluster into the worker when AIRLOCK_DEPLOYER=kubernetes: the deployer, and the
// policy gate's memory-capacity rule fed with the node pool's free memory read from the cluster.
import { KubeConfig } from '@kubernetes/client-node';
import type { Deployer } from '../integrations/deployer';
import { createKubernetesDeployer } from '../integrations/kubernetes/kubernetes-deployer';
import { createChangeDeployer } from '../integrations/change-deployer';
import { createTerraformRunner } from '../integrations/terraform/terraform-runner';
import { resolveTofuBinary } from '../integrations/terraform/tofu-binary';
import { readNodePoolFreeMemory, type NodePoolMemory } from '../integrations/kubernetes/kubernetes-capacity';
import type { ChangeChecker } from '../activities/gate';
import type { LoadedPolicy } from '../policy/config/load';
import type { KubernetesSettings } from '../policy/config/kubernetes-schema';

/** Overrides checks.nodePoolFreeMemory with the cluster's reading; an unreadable cluster is a warning, not a silent pass. */
export function withClusterFreeMemory(checker: ChangeChecker, read: () => Promise<NodePoolMemory>): ChangeChecker {
  return async (policy, change) => {
    let free: NodePoolMemory;
    try {
      free = await read();
    } catch (err) {
      const findings = await checker(policy, change);
      const fallback = policy.checks.nodePoolFreeMemory
        ? `the policy's ${policy.checks.nodePoolFreeMemory}`
        : 'no figure';
      return [
        ...findings,
        {
          rule: 'node-pool-unreadable',
          level: 'warn',
          message: `free memory of the node pool could not be read from the cluster (${(err as Error).message}); the memory-capacity rule used ${fallback}`,
        },
      ];
    }
    return checker({ ...policy, checks: { ...policy.checks, nodePoolFreeMemory: free.quantity } }, change);
  };
}

export interface KubernetesWiring {
  deployer: Deployer;
  withFreeMemory(checker: ChangeChecker): ChangeChecker;
}

/**
 * Loads the kubeconfig (the given path, else KUBECONFIG / ~/.kube/config / in-cluster) and builds both.
 * With a clone (`repoDir`), services whose policy says how their environments are rendered deploy
 * the change itself (change-deployer.ts); the others, and every service without a clone, deploy an image tag.
 */
export function createKubernetesWiring(
  kubeconfigPath: string | undefined,
  loadPolicy: () => LoadedPolicy,
  source: { repoDir?: string; terraformStateDir?: string } = {},
): KubernetesWiring {
  const kubeconfig = new KubeConfig();
  if (kubeconfigPath) kubeconfig.loadFromFile(kubeconfigPath);
  else kubeconfig.loadFromDefault();
  const settings = (): KubernetesSettings => {
    const k = loadPolicy().policy.kubernetes;
    if (!k)
      throw new Error(
        'policy: kubernetes: the section is required when AIRLOCK_DEPLOYER=kubernetes (see docs/kubernetes.md)',
      );
    return k;
  };
  settings(); // refuse to start without the section rather than fail the first promotion
  const rendered = loadPolicy().policy.services.filter((s) => s.environments);
  if (rendered.length && !source.repoDir)
    throw new Error(
      `config: AIRLOCK_REPO_DIR: required: the policy renders ${rendered.map((s) => s.name).join(', ')} from the repository (services[].environments), and without a clone Airlock would deploy an image tag instead of the change`,
    );
  const withRoots = rendered.filter((s) => s.environments?.staging?.terraform || s.environments?.production?.terraform);
  if (withRoots.length && !source.terraformStateDir)
    throw new Error(
      `config: AIRLOCK_TERRAFORM_STATE_DIR: required: the policy gives ${withRoots.map((s) => s.name).join(', ')} Terraform roots (services[].environments.*.terraform), whose state Airlock keeps in that directory`,
    );
  const imageDeployer = createKubernetesDeployer({ kubeconfig, settings });
  const deployer = source.repoDir
    ? createChangeDeployer({
        kubeconfig,
        settings,
        services: () => loadPolicy().policy.services,
        repoDir: source.repoDir,
        imageDeployer,
        ...(source.terraformStateDir
          ? {
              terraform: {
                runner: createTerraformRunner({ tofu: resolveTofuBinary() }),
                stateDir: source.terraformStateDir,
              },
            }
          : {}),
      })
    : imageDeployer;
  return {
    deployer,
    withFreeMemory: (checker) =>
      withClusterFreeMemory(checker, () =>
        readNodePoolFreeMemory(kubeconfig, {
          context: settings().capacityContext ?? settings().production.context,
          nodeSelector: settings().nodePoolSelector,
        }),
      ),
  };
}
