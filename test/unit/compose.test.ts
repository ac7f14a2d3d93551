// docker-compose.yml and the Dockerfile stay true to the code: what the containers are given must
// parse with the same configuration schemas the worker and server use, and the stack must carry
// Airlock's search attributes. (No Docker daemon in CI: this checks the files, not the images.)
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/worker/config';
import { loadServerConfig } from '../../src/server/config';
import { AIRLOCK_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';

const root = resolve(__dirname, '../..');
type Service = {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
};
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const s = compose.services;

test('every image is pinned to a version', () => {
  for (const [name, svc] of Object.entries(s)) {
    if (!svc.image) continue;
    assert.match(svc.image, /^[\w./-]+:\d[\w.-]*$/, `${name}: image ${svc.image} is not pinned`);
  }
  assert.match(readFileSync(resolve(root, 'Dockerfile'), 'utf8'), /^FROM node:\d+\.\d+\.\d+-/m);
});

test('Temporal persists in PostgreSQL and the UI and workers point at it', () => {
  assert.equal(s.temporal.environment?.DB, 'postgres12');
  assert.equal(s.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
  for (const name of ['temporal-ui', 'airlock-worker', 'airlock-server'])
    assert.equal(s[name].environment?.TEMPORAL_ADDRESS, 'temporal:7233', name);
});

test('the stack registers exactly Airlock’s search attributes', () => {
  const cmd = [s['temporal-search-attributes'].command].flat().join(' ');
  // Each loop creates its names with one type: name → type, as registered.
  const registered = [...cmd.matchAll(/for sa in ([\w ]+); do temporal operator .*?--type (\w+)/g)].flatMap((m) =>
    m[1]
      .trim()
      .split(/\s+/)
      .map((name) => `${name}=${m[2].toUpperCase()}`),
  );
  assert.deepEqual(registered.sort(), AIRLOCK_SEARCH_ATTRIBUTES.map((k) => `${k.name}=${k.type}`).sort());
});

test('the worker and server environments parse with the real configuration schemas', () => {
  const worker = loadConfig(s['airlock-worker'].environment);
  assert.equal(worker.policyPath, '/etc/airlock/airlock.policy.yaml');
  const server = loadServerConfig(s['airlock-server'].environment);
  assert.equal(server.port, 8081);
});

test('the policy is mounted read-only where AIRLOCK_POLICY points, from the repository’s policy/', () => {
  for (const name of ['airlock-worker', 'airlock-server']) {
    const mount = s[name].volumes?.find((v) => v.endsWith(':/etc/airlock:ro'));
    assert.ok(mount, `${name}: policy not mounted read-only`);
    assert.ok(existsSync(resolve(root, mount!.split(':')[0], 'airlock.policy.yaml')));
  }
});

test('the worker reads changes from the clone the stack makes, on a volume they share', () => {
  const repoDir = s['airlock-worker'].environment?.AIRLOCK_REPO_DIR;
  assert.equal(repoDir, '/var/lib/airlock/infra');
  const volumeHolding = (svc: Service) =>
    svc.volumes?.find((v) => repoDir!.startsWith(`${v.split(':')[1]}/`))?.split(':')[0];
  assert.equal(volumeHolding(s['airlock-worker']), 'airlock-state');
  assert.equal(volumeHolding(s['airlock-infra-clone']), 'airlock-state');
  assert.match(
    [s['airlock-infra-clone'].command].flat().join(' '),
    /git clone --mirror .*AIRLOCK_INFRA_REPO.* \/var\/lib\/airlock\/infra$/,
  );
  // The image has git, which the gate runs against the clone.
  assert.match(readFileSync(resolve(root, 'Dockerfile'), 'utf8'), /apt-get install .*\bgit\b/);
});

test('the commands the containers run exist', () => {
  const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
  for (const argv of [cmd, s['airlock-server'].command as string[]]) {
    for (const f of argv.filter((a) => /\.(ts|mjs)$/.test(a))) assert.ok(existsSync(resolve(root, f)), `${f} missing`);
  }
});

test('only the webhook server is published beyond this host; the UI is read-only; no password is written down', () => {
  for (const [name, svc] of Object.entries(s) as Array<[string, Service & { ports?: string[] }]>)
    for (const port of svc.ports ?? [])
      if (name !== 'airlock-server')
        assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} on every interface`);
  assert.equal(s['temporal-ui'].environment?.TEMPORAL_DISABLE_WRITE_ACTIONS, 'true');
  const text = readFileSync(resolve(root, 'docker-compose.yml'), 'utf8');
  assert.doesNotMatch(text, /POSTGRES_(PASSWORD|PWD): temporal\b/, 'the database password is not the default');
  assert.match(s.postgresql.environment?.POSTGRES_PASSWORD ?? '', /^\$\{AIRLOCK_POSTGRES_PASSWORD:\?/);
  assert.equal(s.temporal.environment?.POSTGRES_PWD, s.postgresql.environment?.POSTGRES_PASSWORD);
  assert.match(readFileSync(resolve(root, '.gitignore'), 'utf8'), /^\.env$/m, '.env is never committed');
});
