// Airlock's own configuration, parsed once in main() from the environment. Never at import time,
// never logged whole. Temporal connection settings come from TEMPORAL_* / envconfig instead.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { packageRoot } from './package-root';
import { DEFAULT_TASK_QUEUE } from '../client/temporal-connection';

const repoRoot = packageRoot();

const configSchema = z.object({
  AIRLOCK_POLICY: z.string().min(1).default(resolve(repoRoot, 'policy/airlock.policy.yaml')),
  AIRLOCK_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  AIRLOCK_DEPLOYER: z.enum(['simulated', 'kubernetes']).default('simulated'),
  /** kubeconfig for AIRLOCK_DEPLOYER=kubernetes; unset = ~/.kube/config or the in-cluster account. */
  KUBECONFIG: z.string().min(1).optional(),
  AIRLOCK_SIMULATION_STATE: z.string().min(1).default(resolve(repoRoot, '.airlock/simulation.json')),
  /** How long each simulated rollout takes to become ready (demo realism, fault tests catch it mid-deploy). */
  AIRLOCK_SIMULATION_ROLLOUT_MS: z.coerce.number().int().min(0).default(0),
  /** A local clone of the infrastructure repository; the policy gate reads the change's trees from it. */
  AIRLOCK_REPO_DIR: z.string().min(1).optional(),
  /** Where Airlock keeps the state of the Terraform roots the policy names (absolute; one folder per environment and root). */
  AIRLOCK_TERRAFORM_STATE_DIR: z
    .string()
    .min(1)
    .refine((p) => p.startsWith('/'), 'must be an absolute directory')
    .optional(),
  /** A workflow bundle built ahead of time (bundleWorkflowCode): the worker starts without bundling. */
  AIRLOCK_WORKFLOW_BUNDLE: z.string().min(1).optional(),
});

export type AirlockConfig = {
  policyPath: string;
  taskQueue: string;
  deployer: 'simulated' | 'kubernetes';
  kubeconfigPath?: string;
  simulationStateFile: string;
  simulationRolloutMs: number;
  repoDir?: string;
  terraformStateDir?: string;
  workflowBundlePath?: string;
};

/** The real path (symlinks and `..` resolved) of a file that may not exist yet: its nearest existing ancestor's. */
function realPath(path: string): string {
  const full = resolve(path);
  try {
    return realpathSync(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(realPath(parent), basename(full));
  }
}

/**
 * A policy read from inside the clone is a policy the agent can merge: the change it judges could
 * rewrite it. Compared by real path, so a symlink or `..` does not hide it.
 */
function refusePolicyInClone(policyPath: string, repoDir: string | undefined): void {
  if (!repoDir) return;
  const inside = relative(realPath(repoDir), realPath(policyPath));
  const outside = inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  if (!outside)
    throw new Error(
      `config: AIRLOCK_POLICY: ${policyPath} lies inside the clone AIRLOCK_REPO_DIR (${repoDir}): a merged change could rewrite the rules that judge it; keep the policy outside the repository (e.g. /etc/airlock, mounted read-only)`,
    );
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AirlockConfig {
  const r = configSchema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`config: ${i.path.join('.')}: ${i.message}`);
  }
  const c = r.data;
  refusePolicyInClone(c.AIRLOCK_POLICY, c.AIRLOCK_REPO_DIR);
  return {
    policyPath: c.AIRLOCK_POLICY,
    taskQueue: c.AIRLOCK_TASK_QUEUE,
    deployer: c.AIRLOCK_DEPLOYER,
    simulationStateFile: c.AIRLOCK_SIMULATION_STATE,
    simulationRolloutMs: c.AIRLOCK_SIMULATION_ROLLOUT_MS,
    ...(c.AIRLOCK_REPO_DIR ? { repoDir: c.AIRLOCK_REPO_DIR } : {}),
    ...(c.AIRLOCK_TERRAFORM_STATE_DIR ? { terraformStateDir: c.AIRLOCK_TERRAFORM_STATE_DIR } : {}),
    ...(c.AIRLOCK_WORKFLOW_BUNDLE ? { workflowBundlePath: c.AIRLOCK_WORKFLOW_BUNDLE } : {}),
    ...(c.KUBECONFIG ? { kubeconfigPath: c.KUBECONFIG } : {}),
  };
}
