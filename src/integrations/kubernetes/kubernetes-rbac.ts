// The RBAC the image-tag deployer needs, generated from the policy rather than kept by hand: the
// names it may write are the policy's services and their canaries, so a Role listing them by
// `resourceNames` is exact, and a service added to the policy gets its rights by re-running
// `airlock rbac`. The free-memory reading's cluster-wide pod list lives in its own ClusterRole
// for its own identity (docs/kubernetes.md, "RBAC"). Pure: no requests.
import { Document, isScalar, isSeq, visit } from 'yaml';
import { canaryName } from './kubernetes-deployer';

/** Who the Roles are granted to: Airlock's kubeconfig user, or the ServiceAccount it runs as. */
export type RbacSubject = { kind: 'User'; name: string } | { kind: 'ServiceAccount'; namespace: string; name: string };

export interface DeployerRbacInput {
  /** The policy's kubernetes.staging.namespace and kubernetes.production.namespace. */
  namespaces: string[];
  /** The staging namespace: its Roles also list pods, to read the digests staging ran. */
  stagingNamespace?: string;
  /** The policy's service names (services[].name). */
  services: string[];
  subject: RbacSubject;
}

export type RbacObject = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

export const CAPACITY_READER = 'airlock-capacity-reader';

/** The Role and RoleBinding name of one service's rights, e.g. airlock-deployer-payment-service. */
export const deployerRoleName = (service: string) => `airlock-deployer-${service}`;

const RBAC = 'rbac.authorization.k8s.io';

function subjectOf(s: RbacSubject): Record<string, string> {
  return s.kind === 'User'
    ? { apiGroup: RBAC, kind: 'User', name: s.name }
    : { kind: 'ServiceAccount', namespace: s.namespace, name: s.name };
}

/**
 * One Role and RoleBinding per service and namespace: get, patch (server-side apply), create and
 * delete of exactly `<service>` and `<service>-canary`. Create is restrictable here only because
 * the deployer creates by server-side apply, which the API server authorizes as `create` *with*
 * the object's name; a POST carries no name and is refused. No list or watch of Deployments: the
 * deployer reads them by name; staging's pods are listed, to read the digests staging ran. Throws on an
 * empty service list, because a rule without resourceNames means every name.
 */
export function deployerRbac(input: DeployerRbacInput): RbacObject[] {
  if (!input.services.length)
    throw new Error(
      'rbac: the policy lists no services (services[].name): a Role without resourceNames would allow every Deployment',
    );
  const out: RbacObject[] = [];
  for (const namespace of [...new Set(input.namespaces)])
    for (const service of input.services) {
      const name = deployerRoleName(service);
      // Not airlock.dev/service (SERVICE_LABEL): an object set would prune a Role carrying it.
      const labels = { 'app.kubernetes.io/managed-by': 'airlock', 'airlock.dev/rbac-for': service };
      out.push(
        {
          apiVersion: `${RBAC}/v1`,
          kind: 'Role',
          metadata: { name, namespace, labels },
          rules: [
            {
              apiGroups: ['apps'],
              resources: ['deployments'],
              resourceNames: [service, canaryName(service)],
              verbs: ['get', 'create', 'patch', 'delete'],
            },
            // The staged pods' image digests, which production is pinned to (staged-images.ts). Read
            // only, staging only; RBAC cannot narrow a list by name.
            ...(namespace === input.stagingNamespace
              ? [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]
              : []),
          ],
        },
        {
          apiVersion: `${RBAC}/v1`,
          kind: 'RoleBinding',
          metadata: { name, namespace, labels },
          roleRef: { apiGroup: RBAC, kind: 'Role', name },
          subjects: [subjectOf(input.subject)],
        },
      );
    }
  return out;
}

/**
 * The free-memory reading's rights, for an identity of its own: list nodes, and list pods in every
 * namespace, because the scheduler counts the requests of every pod on the pool's nodes. Read-only,
 * and never part of the deployer's Roles: pod specs of every namespace are what it can read.
 */
export function capacityReaderRbac(subject: RbacSubject): RbacObject[] {
  const metadata = { name: CAPACITY_READER, labels: { 'app.kubernetes.io/managed-by': 'airlock' } };
  return [
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata,
      rules: [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['list'] }],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: CAPACITY_READER },
      subjects: [subjectOf(subject)],
    },
  ];
}

/** Multi-document YAML, each object preceded by a comment line saying what it is for. */
export function rbacYaml(header: string[], objects: RbacObject[]): string {
  const comment = (lines: string[]) => lines.map((l) => (l ? `# ${l}` : '#')).join('\n');
  const docs = objects.map((o) => {
    const doc = new Document(o);
    // Lists of names and verbs on one line, as RBAC is usually written and reviewed.
    visit(doc, {
      Seq(_, seq) {
        if (isSeq(seq) && seq.items.every((i) => isScalar(i))) seq.flow = true;
      },
    });
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
  });
  return `${comment(header)}\n${docs.map((d) => `---\n${d}`).join('\n')}\n`;
}
