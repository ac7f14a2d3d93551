// Whether a kind is namespaced, decided without a cluster: the built-in cluster-scoped kinds of
// Kubernetes, by API group. A custom resource is unknown here; the caller may answer from
// discovery (RenderOptions.scope), otherwise it is taken as namespaced (what most CRDs are).
export type ObjectScope = 'Namespaced' | 'Cluster';

/** Answers from discovery; undefined = not known, fall back to the built-in table. */
export type ScopeLookup = (apiVersion: string, kind: string) => ObjectScope | undefined;

const CLUSTER_SCOPED: Record<string, readonly string[]> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'scheduling.k8s.io': ['PriorityClass'],
  'node.k8s.io': ['RuntimeClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
  'authorization.k8s.io': ['SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview'],
  'storagemigration.k8s.io': ['StorageVersionMigration'],
  'internal.apiserver.k8s.io': ['StorageVersion'],
};

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function objectScope(apiVersion: string, kind: string, lookup?: ScopeLookup): ObjectScope {
  const known = lookup?.(apiVersion, kind);
  if (known) return known;
  return CLUSTER_SCOPED[groupOf(apiVersion)]?.includes(kind) ? 'Cluster' : 'Namespaced';
}
