// The policy's `kubernetes:` section: where each environment lives for the Kubernetes deployer.
// Optional, so policies written for the simulated deployer keep parsing. Pure: no I/O.
import { z } from 'zod';

// RFC 1123 label: what Kubernetes accepts as a namespace name.
const namespace = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    'must be a Kubernetes namespace name (RFC 1123 label, e.g. "payments-staging")',
  );

export const kubernetesEnvironmentSchema = z
  .object({
    /** kubeconfig context of the cluster; unset = the kubeconfig's current context. */
    context: z.string().trim().min(1, 'must name a kubeconfig context').optional(),
    namespace,
  })
  .strict();

export const kubernetesSchema = z
  .object({
    staging: kubernetesEnvironmentSchema,
    production: kubernetesEnvironmentSchema,
    /** Containers whose image takes the change's version; unset = every (non-init) container. */
    containers: z
      .array(z.string().min(1))
      .min(1, 'list at least one container name, or leave containers out')
      .optional(),
    /** A rollout not ready after this long fails the deploy (on top of the Deployment's own progress deadline). */
    rolloutTimeoutMinutes: z.number().positive('must be a positive number of minutes').max(120).default(15),
    /** Nodes whose free memory the memory-capacity rule compares with (label selector); unset = every node. */
    nodePoolSelector: z.string().min(1).optional(),
    /**
     * kubeconfig context of the free-memory reading, whose user holds ClusterRole
     * airlock-capacity-reader (cluster-wide pod list); unset = the production context.
     */
    capacityContext: z.string().trim().min(1, 'must name a kubeconfig context').optional(),
  })
  .strict();

export type KubernetesSettings = z.infer<typeof kubernetesSchema>;
export type KubernetesEnvironmentSettings = z.infer<typeof kubernetesEnvironmentSchema>;
