// Kubernetes workload objects for the policy tier, built as values so that one edit can be given
// to the engine both as a manifest file and as a rendered object.
export interface ContainerSpec {
  name: string;
  memory?: string;
  failureThreshold?: number;
  /** Default true: a liveness and a readiness probe, so only what a test takes away is missing. */
  probes?: boolean;
  restartPolicy?: string;
}

export function container(c: ContainerSpec): Record<string, unknown> {
  const probes = c.probes ?? true;
  return {
    name: c.name,
    image: `registry.example/${c.name}:1.0.0`,
    ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    ...(c.memory ? { resources: { limits: { memory: c.memory } } } : {}),
    ...(probes
      ? {
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, failureThreshold: c.failureThreshold ?? 3 },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
        }
      : {}),
  };
}

export function workload(o: {
  kind?: string;
  name?: string;
  namespace?: string;
  replicas?: number;
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
}): Record<string, unknown> {
  const kind = o.kind ?? 'Deployment';
  const podSpec = {
    containers: o.containers.map(container),
    ...(o.initContainers ? { initContainers: o.initContainers.map(container) } : {}),
  };
  const template = { metadata: { labels: { app: o.name ?? 'web' } }, spec: podSpec };
  const spec =
    kind === 'Job'
      ? { template: { ...template, spec: { ...podSpec, restartPolicy: 'Never' } } }
      : { replicas: o.replicas ?? 3, selector: { matchLabels: { app: o.name ?? 'web' } }, template };
  return {
    apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name: o.name ?? 'web', namespace: o.namespace ?? 'shop' },
    spec,
  };
}
