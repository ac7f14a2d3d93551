// objectIdentity, compareRenders and the built-in scope table: the identities the integrator
// snapshots and prunes by.
import { expect, test } from 'vitest';
import { compareRenders, objectIdentity, objectScope, type RenderedObject } from '../../../../src/integrations/render';

const rendered = (apiVersion: string, kind: string, name: string, namespace?: string): RenderedObject => ({
  object: { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } },
  source: 'x.yaml',
});

test('identity is apiVersion/kind/namespace/name, with an empty namespace for cluster-scoped objects', () => {
  expect(objectIdentity(rendered('apps/v1', 'Deployment', 'web', 'prod').object)).toBe('apps/v1/Deployment/prod/web');
  expect(objectIdentity(rendered('v1', 'Namespace', 'prod').object)).toBe('v1/Namespace//prod');
});

test('added, removed and kept, each sorted; content changes are kept, a moved namespace is a remove and an add', () => {
  const base = [
    rendered('apps/v1', 'Deployment', 'web', 'prod'),
    rendered('v1', 'ConfigMap', 'old', 'prod'),
    rendered('v1', 'Service', 'web', 'prod'),
    rendered('v1', 'Secret', 'moved', 'prod'),
  ];
  const head = [
    { ...rendered('apps/v1', 'Deployment', 'web', 'prod'), source: 'other.yaml' },
    rendered('v1', 'Service', 'web', 'prod'),
    rendered('v1', 'Secret', 'moved', 'staging'),
    rendered('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', 'prod'),
  ];
  expect(compareRenders(base, head)).toEqual({
    added: ['autoscaling/v2/HorizontalPodAutoscaler/prod/web', 'v1/Secret/staging/moved'],
    removed: ['v1/ConfigMap/prod/old', 'v1/Secret/prod/moved'],
    kept: ['apps/v1/Deployment/prod/web', 'v1/Service/prod/web'],
  });
  expect(compareRenders([], [])).toEqual({ added: [], removed: [], kept: [] });
});

test('scope: built-in cluster-scoped kinds by group, a lookup first, unknown kinds namespaced', () => {
  expect(objectScope('v1', 'Namespace')).toBe('Cluster');
  expect(objectScope('rbac.authorization.k8s.io/v1', 'ClusterRole')).toBe('Cluster');
  expect(objectScope('rbac.authorization.k8s.io/v1', 'Role')).toBe('Namespaced');
  // Same kind name in another group is not the built-in one.
  expect(objectScope('example.com/v1', 'Namespace')).toBe('Namespaced');
  expect(objectScope('example.com/v1', 'Thing', () => 'Cluster')).toBe('Cluster');
  expect(objectScope('v1', 'Node', () => undefined)).toBe('Cluster');
});
