// Free memory of the node pool as the scheduler sees it: allocatable memory of the schedulable
// nodes minus the memory requests of the pods bound to them that still hold it. Read from the
// cluster for the policy's memory-capacity rule (AI-DEPLOY-006) instead of a number in the policy.
//
// Every pod of every namespace counts (the scheduler counts them all), so the reading needs a
// cluster-wide pod list. That right is not the deployer's: it belongs to the read-only ClusterRole
// airlock-capacity-reader, bound to an identity of its own (policy kubernetes.capacityContext).
// Without it the reading fails and says what it could not see; it never counts unseen pods as free.
import { ApiException, CoreV1Api, KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { formatBytes, parseQuantity, type Nanos } from '../../policy/engine/quantity';
import { DeployRejectedError } from '../deployer';
import { withRetry } from './kubernetes-errors';

const NANO = 1_000_000_000n;

/** The identity may not read what the figure needs (403): the free memory is unknown, not zero, not all. */
export class CapacityForbiddenError extends DeployRejectedError {}

/** `call`, with a 403 turned into a CapacityForbiddenError that names what could not be seen. */
async function orForbidden<T>(call: () => Promise<T>, user: string, what: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ApiException) || err.code !== 403) throw err;
    throw new CapacityForbiddenError(
      `kubernetes: ${user} may not ${what} (403 Forbidden), so the free memory of the node pool is unknown; bind ClusterRole airlock-capacity-reader to the identity of policy kubernetes.capacityContext (docs/kubernetes.md, "RBAC")`,
    );
  }
}

export interface NodePoolMemory {
  nodes: number;
  allocatableBytes: bigint;
  requestedBytes: bigint;
  freeBytes: bigint;
  /** freeBytes as a quantity the policy understands ("12884901888"), never negative. */
  quantity: string;
  summary: string;
}

const memoryRequest = (c: V1Container): Nanos => {
  const raw = c.resources?.requests?.memory;
  return raw === undefined ? 0n : parseQuantity(raw);
};

/** A pod's effective request: max(sum of app containers, largest init container) + overhead. */
export function podMemoryRequest(pod: V1Pod): Nanos {
  const app = (pod.spec?.containers ?? []).reduce((sum, c) => sum + memoryRequest(c), 0n);
  const init = (pod.spec?.initContainers ?? []).reduce((max, c) => {
    const r = memoryRequest(c);
    return r > max ? r : max;
  }, 0n);
  const overhead = pod.spec?.overhead?.memory ? parseQuantity(pod.spec.overhead.memory) : 0n;
  return (app > init ? app : init) + overhead;
}

/**
 * Reads the node pool's free memory. `nodeSelector` is a label selector naming the pool
 * (e.g. "pool=general"); unset = every node. Cordoned nodes count for nothing.
 */
export async function readNodePoolFreeMemory(
  kubeconfig: KubeConfig,
  o: { context?: string; nodeSelector?: string } = {},
): Promise<NodePoolMemory> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig.exportConfig());
  if (o.context) kc.setCurrentContext(o.context);
  const core = kc.makeApiClient(CoreV1Api);
  const user = `kubeconfig user "${kc.getCurrentUser()?.name ?? 'unknown'}" (context ${kc.getCurrentContext()})`;
  const nodes = await withRetry('list', `nodes${o.nodeSelector ? ` (${o.nodeSelector})` : ''}`, () =>
    orForbidden(() => core.listNode(o.nodeSelector ? { labelSelector: o.nodeSelector } : {}), user, 'list nodes'),
  );
  const pool = nodes.items.filter((n) => !n.spec?.unschedulable);
  const names = new Set(pool.map((n) => n.metadata?.name));
  let allocatable = 0n;
  for (const n of pool) allocatable += n.status?.allocatable?.memory ? parseQuantity(n.status.allocatable.memory) : 0n;
  // Pods that finished hold no memory; pending pods without a node are not on this pool yet.
  const pods = await withRetry('list', 'pods in all namespaces', () =>
    orForbidden(
      () => core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
      user,
      "list pods in all namespaces (the memory requests of other namespaces' pods on the pool's nodes)",
    ),
  );
  let requested = 0n;
  for (const p of pods.items) if (p.spec?.nodeName && names.has(p.spec.nodeName)) requested += podMemoryRequest(p);
  const free = allocatable > requested ? allocatable - requested : 0n;
  const bytes = (n: Nanos) => n / NANO;
  return {
    nodes: pool.length,
    allocatableBytes: bytes(allocatable),
    requestedBytes: bytes(requested),
    freeBytes: bytes(free),
    quantity: String(bytes(free)),
    summary: `${formatBytes(free)} free of ${formatBytes(allocatable)} allocatable on ${pool.length} node(s)`,
  };
}
