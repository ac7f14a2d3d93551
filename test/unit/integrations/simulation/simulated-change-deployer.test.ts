// The simulated deployer of rendered services: the merge commit rendered from a real git clone
// (plain manifests, so no tool is needed) and applied to the simulated object store, step by step.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestRepo, type Files, type TestRepo } from '../../../kubernetes/render-repo';
import { createSimulatedDeployer } from '../../../../src/integrations/simulation/simulated-deployer';
import {
  createSimulatedChangeDeployer,
  type SimulatedChangeSnapshot,
} from '../../../../src/integrations/simulation/simulated-change-deployer';
import {
  createSimulatedObjectStore,
  type SimulatedObjectStore,
} from '../../../../src/integrations/simulation/simulated-object-store';
import { ObjectRejectedError, SERVICE_LABEL, type Json } from '../../../../src/integrations/kubernetes/object-set';
import type { Deployer } from '../../../../src/integrations/deployer';
import type { Environment } from '../../../../src/workflows/messages';

const deployment = (failureThreshold: number, memory: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  replicas: 8
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: app
          image: registry.example/web:1.0.0
          resources: { limits: { memory: ${memory} } }
          livenessProbe: { httpGet: { path: /healthz, port: 8080 }, failureThreshold: ${failureThreshold} }
`;
const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "${value}" }\n`;

const BASE: Files = {
  'web/staging/deployment.yaml': deployment(3, '512Mi'),
  'web/staging/service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web } }\n',
  'web/production/deployment.yaml': deployment(3, '512Mi'),
  'web/production/service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web } }\n',
  'web/production/old-config.yaml': configMap('web-old', 'a'),
  'legacy/image.txt': 'image-tag service\n',
};
// The agent's change: the probe and memory in production, a config file replaced by another.
const HEAD: Files = {
  'web/production/deployment.yaml': deployment(5, '768Mi'),
  'web/production/old-config.yaml': null,
  'web/production/new-config.yaml': configMap('web-new', 'b'),
};

const services = [
  {
    name: 'web',
    environments: {
      staging: { kubernetes: { manifests: 'web/staging' } },
      production: { kubernetes: { manifests: 'web/production' } },
    },
  },
  { name: 'legacy' },
];

let repo: TestRepo;
let base: string;
let head: string;
let bad: string;
beforeAll(() => {
  repo = createTestRepo();
  base = repo.commit(BASE, 'base');
  head = repo.commit(HEAD, 'agent: probe, memory, config');
  bad = repo.commit(
    {
      'web/production/secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: web-token }\n',
      'web/production/elsewhere.yaml': configMap('web-x', 'c').replace(
        '{ name: web-x }',
        '{ name: web-x, namespace: kube-system }',
      ),
    },
    'agent: a Secret and an object in another namespace',
  );
});
afterAll(() => repo?.remove());

let store: SimulatedObjectStore;
let stateFile: string;
let images: ReturnType<typeof createSimulatedDeployer>;
const create = (o: { rolloutMs?: number } = {}): Deployer =>
  createSimulatedChangeDeployer({
    repoDir: repo.dir,
    services: () => services,
    namespaceOf: (e) => `${e}-ns`,
    store,
    imageDeployer: images,
    ...o,
  });
const change = () => ({ commit: head, baseCommit: base });
const labelled = (o: Json) => ((o.metadata as Json).labels as Record<string, string>)[SERVICE_LABEL];
const names = (e: Environment) =>
  store
    .all(e)
    .map((o) => `${String(o.kind)}/${(o.metadata as Json).name as string}`)
    .sort();

/** Production after the change: web's new config in place of the old one, the others untouched. */
const AFTER_CHANGE = ['ConfigMap/by-hand', 'ConfigMap/other', 'ConfigMap/web-new', 'Deployment/web', 'Service/web'];

// What runs before the change: the base render of web, an object of another service and one nobody labelled.
const OTHER = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'other', namespace: 'production-ns', labels: { [SERVICE_LABEL]: 'search' } },
};
const UNLABELLED = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'by-hand', namespace: 'production-ns' },
  data: { x: '1' },
};
beforeEach(async () => {
  stateFile = join(mkdtempSync(join(tmpdir(), 'airlock-sim-')), 'objects.json');
  store = createSimulatedObjectStore({ stateFile });
  images = createSimulatedDeployer();
  const d = create();
  for (const environment of ['staging', 'production'] as const)
    await d.deploy({ service: 'web', environment, version: 'base', change: { commit: base } });
  store.write('production', { put: [OTHER, UNLABELLED], delete: [] });
});

describe('simulated change deployer', () => {
  test('deploy applies the whole render labelled for the service and prunes only its objects; the summary says it is simulated', async () => {
    expect(names('production')).toEqual([
      'ConfigMap/by-hand',
      'ConfigMap/other',
      'ConfigMap/web-old',
      'Deployment/web',
      'Service/web',
    ]);
    const r = await create().deploy({ service: 'web', environment: 'production', version: 'v2', change: change() });
    expect(r.summary).toBe(
      `[simulated] web production at ${head.slice(0, 12)}: 3 objects applied, 1 removed in production-ns`,
    );
    expect(names('production')).toEqual(AFTER_CHANGE);
    expect(
      store.get('production', { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'production-ns', name: 'other' }),
    ).toEqual(OTHER);
    expect(
      store.get('production', { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'production-ns', name: 'by-hand' }),
    ).toEqual(UNLABELLED);
    const web = store.get('production', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'production-ns',
      name: 'web',
    })!;
    expect(labelled(web)).toBe('web');
    expect(JSON.stringify(web)).toContain('"failureThreshold":5');
    // The state file mirrors the store: a restarted worker sees the same objects.
    expect(createSimulatedObjectStore({ stateFile }).all('production')).toEqual(store.all('production'));
  });

  test('canary: a <name>-canary copy of the changed Deployment at ceil(10 % of 8) = 1 replica; the ConfigMaps are listed as not canaried; promote removes the copy', async () => {
    const d = create();
    const c = await d.deployCanary({ service: 'web', version: 'v2', percent: 10, change: change() });
    expect(c.summary).toMatch(
      /^\[simulated\] web: canary web-canary at 10% of production with ConfigMap production-ns\/web-new \(new, for the canary's pods to read\); not canaried, reaches production only after approval: ConfigMap production-ns\/web-old \(ConfigMap deleted/,
    );
    expect(c.summary).not.toContain('web-new (ConfigMap: read by the stable pods');
    const canary = store.get('production', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'production-ns',
      name: 'web-canary',
    }) as Json & { spec: { replicas: number; template: unknown } };
    expect(canary.spec.replicas).toBe(1);
    expect(JSON.stringify(canary.spec.template)).toContain('"failureThreshold":5');
    // Stable keeps the old template until production is promoted.
    expect(
      JSON.stringify(
        store.get('production', { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'production-ns', name: 'web' }),
      ),
    ).toContain('"failureThreshold":3');
    const p = await d.promote({ service: 'web', version: 'v2', change: change() });
    expect(p.summary).toBe(
      `[simulated] web production at ${head.slice(0, 12)}: 3 objects applied, 2 removed in production-ns`,
    );
    expect(names('production')).toEqual(AFTER_CHANGE);
  });

  test('a staging change with no pod template change skips the canary and says why', async () => {
    const unchanged = { commit: base, baseCommit: base };
    const r = await create().deployCanary({ service: 'web', version: 'v1', percent: 10, change: unchanged });
    expect(r.summary).toBe('[simulated] web: no pod template changes, canary skipped');
  });

  test('restore puts back exactly the snapshot: every object of both environments equal to before, created ones gone, deleted ones back', async () => {
    const d = create();
    const before = { staging: store.all('staging'), production: store.all('production') };
    const snaps = {
      staging: await d.snapshot('web', 'staging', {}, change()),
      production: await d.snapshot('web', 'production', {}, change()),
    };
    expect(
      (snaps.production as SimulatedChangeSnapshot).objects
        .map((o) => `${o.id.name}:${o.object ? 'live' : 'absent'}`)
        .sort(),
    ).toEqual(['web-new:absent', 'web-old:live', 'web:live', 'web:live', 'web-canary:absent'].sort());
    await d.deploy({ service: 'web', environment: 'staging', version: 'v2', change: change() });
    await d.deployCanary({ service: 'web', version: 'v2', percent: 10, change: change() });
    await d.promote({ service: 'web', version: 'v2', change: change() });
    expect(store.all('production')).not.toEqual(before.production);
    // Through JSON, as the snapshot travels through Temporal history.
    const r = await d.restore(JSON.parse(JSON.stringify(snaps.production)));
    await d.restore(JSON.parse(JSON.stringify(snaps.staging)));
    expect(r.summary).toBe(
      '[simulated] web production restored exactly: 3 objects put back, 1 deleted in production-ns',
    );
    expect(store.all('production')).toEqual(before.production);
    expect(store.all('staging')).toEqual(before.staging);
  });

  test('preview: the unified diff of production before/after, the not-canaried notes, a stable digest; nothing is written', async () => {
    const d = create();
    const before = store.all('production');
    const p = (await d.preview!({ service: 'web', environment: 'production', change: change() }))!;
    expect(p.text.split('\n')[0]).toBe(
      '# kubernetes production-ns [simulated]: create ConfigMap production-ns/web-new, update Deployment production-ns/web, delete ConfigMap production-ns/web-old',
    );
    expect(p.text).toContain('--- a/Deployment/production-ns/web\n+++ b/Deployment/production-ns/web\n');
    expect(p.text).toMatch(/^-\s+failureThreshold: 3$/m);
    expect(p.text).toMatch(/^\+\s+failureThreshold: 5$/m);
    expect(p.text).toMatch(/^-\s+memory: 512Mi$/m);
    expect(p.text).toMatch(/^\+\s+memory: 768Mi$/m);
    expect(p.text).toContain('--- a/ConfigMap/production-ns/web-old\n+++ /dev/null\n');
    expect(p.text).not.toContain('Service/production-ns/web');
    expect(p.notes[0]).toMatch(/^\[simulated\]/);
    // web-new is new: the canary's pods read it, the stable ones cannot; it is not listed as not canaried.
    expect(p.notes.some((n) => n.includes('web-new'))).toBe(false);
    expect((await d.preview!({ service: 'web', environment: 'production', change: change() }))!.digest).toBe(p.digest);
    expect(store.all('production')).toEqual(before);
    // At approval time the canary runs: Airlock's own copy is named in a note, not shown as the change.
    await d.deployCanary({ service: 'web', version: 'v2', percent: 10, change: change() });
    const during = (await d.preview!({ service: 'web', environment: 'production', change: change() }))!;
    expect(during.text).toBe(p.text);
    expect(during.digest).toBe(p.digest);
    expect(during.notes).toEqual([
      ...p.notes,
      'the canary copy Deployment production-ns/web-canary is removed by the rollout',
    ]);
  });

  test('a Secret or an object in another namespace is refused naming each, and nothing is written', async () => {
    const before = store.all('production');
    const p = create().deploy({
      service: 'web',
      environment: 'production',
      version: 'v3',
      change: { commit: bad, baseCommit: head },
    });
    await expect(p).rejects.toBeInstanceOf(ObjectRejectedError);
    await expect(p).rejects.toThrow('Secret/web-token: Secrets are refused');
    await expect(p).rejects.toThrow(
      "ConfigMap/web-x: in namespace kube-system, not in the environment's namespace production-ns",
    );
    expect(store.all('production')).toEqual(before);
  });

  test('an object labelled for another service is never taken over', async () => {
    store.write('production', { put: [{ ...OTHER, metadata: { ...OTHER.metadata, name: 'web-new' } }], delete: [] });
    const before = store.all('production');
    await expect(
      create().deploy({ service: 'web', environment: 'production', version: 'v2', change: change() }),
    ).rejects.toThrow(
      'kubernetes: ConfigMap production-ns/web-new is live with airlock.dev/service=search [simulated]: it belongs to another service, web may not change it',
    );
    expect(store.all('production')).toEqual(before);
  });

  test('cancelled during the rollout: the call rejects with the abort reason and the store keeps the state from before', async () => {
    const before = store.all('staging');
    const ac = new AbortController();
    const p = create({ rolloutMs: 5_000 }).deploy(
      { service: 'web', environment: 'staging', version: 'v2', change: change() },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(new Error('cancelled by the workflow')), 50);
    await expect(p).rejects.toThrow('cancelled by the workflow');
    expect(store.all('staging')).toEqual(before);
  });

  test('a rendered service without a commit is refused; an image-tag service keeps the version simulation', async () => {
    const d = create();
    await expect(d.deploy({ service: 'web', environment: 'staging', version: 'v2' })).rejects.toThrow(
      'web: its policy renders environments from the repository, but the deploy carries no commit',
    );
    const r = await d.deploy({ service: 'legacy', environment: 'staging', version: 'v9', change: change() });
    expect(r.summary).toBe('[simulated] legacy v9 on all of staging');
    expect(images.view('legacy', 'staging').stable?.version).toBe('v9');
    expect(await d.preview!({ service: 'legacy', environment: 'production', change: change() })).toBeUndefined();
    expect((await d.snapshot('legacy', 'production', {}, change())).deployer).toBe('simulated');
  });
});
