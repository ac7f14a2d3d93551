// Reading what staging ran from the kubelet's reports: every runtime's spelling of imageID, what is
// not a registry digest, pods that disagree, and the reference production receives.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import {
  normalizedRepository,
  parseImageId,
  pinnedReference,
} from '../../../../src/integrations/kubernetes/image-digest';
import { stagedImages, type PodJson } from '../../../../src/integrations/kubernetes/staged-images';
import { DeployRejectedError } from '../../../../src/integrations/deployer';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('parseImageId', () => {
  test('containerd, CRI-O and Docker spellings of a registry digest', () => {
    assert.deepEqual(parseImageId(`registry.example:5000/team/app@${A}`), {
      repository: 'registry.example:5000/team/app',
      digest: A,
    });
    assert.deepEqual(parseImageId(`docker-pullable://registry.example/app@${A}`), {
      repository: 'registry.example/app',
      digest: A,
    });
    assert.deepEqual(parseImageId(`docker.io/library/nginx@${B}`), {
      repository: 'docker.io/library/nginx',
      digest: B,
    });
  });
  test('a local image ID, an empty report, a short or non-sha256 digest are no digest', () => {
    assert.match((parseImageId(A) as { none: string }).none, /only a local image ID/);
    assert.match((parseImageId(`docker://${A}`) as { none: string }).none, /only a local image ID/);
    assert.deepEqual(parseImageId(''), { none: 'no imageID reported' });
    assert.deepEqual(parseImageId(undefined), { none: 'no imageID reported' });
    assert.match((parseImageId('registry.example/app@sha256:abc') as { none: string }).none, /no sha256/);
    assert.match(
      (parseImageId(`registry.example/app@sha512:${'a'.repeat(128)}`) as { none: string }).none,
      /no sha256/,
    );
    assert.match((parseImageId(`registry.example/app:${'a'.repeat(64)}`) as { none: string }).none, /no sha256/);
  });
  test('Docker Hub short names compare equal to what the runtime reports', () => {
    assert.equal(normalizedRepository('nginx'), 'docker.io/library/nginx');
    assert.equal(normalizedRepository('team/app'), 'docker.io/team/app');
    assert.equal(normalizedRepository('index.docker.io/team/app'), 'docker.io/team/app');
    assert.equal(normalizedRepository('localhost/app'), 'localhost/app');
    assert.equal(normalizedRepository('registry.example:5000/app'), 'registry.example:5000/app');
  });
  test('the pinned reference keeps the tag for readers; one that names a digest stays as it is', () => {
    assert.equal(pinnedReference('registry.example:5000/app:v2', A), `registry.example:5000/app:v2@${A}`);
    assert.equal(pinnedReference('registry.example/app', A), `registry.example/app@${A}`);
    assert.equal(pinnedReference(`registry.example/app@${B}`, A), `registry.example/app@${B}`);
  });
});

const pod = (image: string, imageID: string | undefined, extra: Partial<PodJson['metadata']> = {}): PodJson => ({
  metadata: { name: 'p', ...extra },
  spec: { containers: [{ name: 'app', image }] },
  status: { containerStatuses: [{ name: 'app', ...(imageID === undefined ? {} : { imageID }) }] },
});
const APP = [{ name: 'app', image: 'nginx:v2' }];

describe('stagedImages', () => {
  test('every pod agrees: pinned; pods of another image and terminating pods do not count', () => {
    const pods = [
      pod('nginx:v2', `docker.io/library/nginx@${A}`),
      pod('nginx:v2', `docker-pullable://nginx@${A}`),
      pod('nginx:v1', `docker.io/library/nginx@${B}`),
      pod('nginx:v2', `docker.io/library/nginx@${B}`, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
    ];
    assert.deepEqual(stagedImages(APP, pods, 'Deployment s/x'), [
      { reference: 'nginx:v2', containers: ['app'], digest: A },
    ]);
  });
  test('pods disagree: refused, naming both digests and how many pods run each', () => {
    const pods = [pod('nginx:v2', `nginx@${A}`), pod('nginx:v2', `nginx@${B}`), pod('nginx:v2', `nginx@${A}`)];
    assert.throws(
      () => stagedImages(APP, pods, 'Deployment s/x'),
      (err: Error) =>
        err instanceof DeployRejectedError &&
        /pods of nginx:v2 run 2 different images \(sha256:aaaaaaaaaaaa… on 2, sha256:bbbbbbbbbbbb… on 1\)/.test(
          err.message,
        ),
    );
  });
  test('one pod silent, a local image ID, another repository, or no pod: not pinned, and why', () => {
    const silent = stagedImages(APP, [pod('nginx:v2', `nginx@${A}`), pod('nginx:v2', '')], 'd');
    assert.equal(silent[0].digest, undefined);
    assert.equal(silent[0].unpinned, '1 of 2 container(s) reported no registry digest: no imageID reported');
    assert.match(stagedImages(APP, [pod('nginx:v2', A)], 'd')[0].unpinned ?? '', /only a local image ID/);
    assert.match(
      stagedImages(APP, [pod('nginx:v2', `mirror.example/nginx@${A}`)], 'd')[0].unpinned ?? '',
      /another repository \(mirror\.example\/nginx\)/,
    );
    assert.deepEqual(stagedImages(APP, [], 'd'), [
      { reference: 'nginx:v2', containers: ['app'], unpinned: 'no running pod of it to ask' },
    ]);
  });
  test('a reference that names a digest is its own pin; containers sharing a reference are one entry', () => {
    const two = [
      { name: 'app', image: `nginx@${B}` },
      { name: 'worker', image: `nginx@${B}` },
    ];
    assert.deepEqual(stagedImages(two, [], 'd'), [
      { reference: `nginx@${B}`, containers: ['app', 'worker'], digest: B },
    ]);
  });
});
