// The command line itself: exit codes and messages for usage errors, keygen's file and output.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../../src/cli/main';
import { ExitCode } from '../../src/cli/errors';
import { decodeBase64 } from '../../src/approvals/base64';
import { publicKeyOf } from '../../src/approvals/decision-signature';
import { parsePolicy } from '../../src/policy/config/load';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (t: string) => void out.push(t),
      err: (t: string) => void err.push(t),
      client: async () => assert.fail('no Temporal call expected'),
    },
  };
}

test('keygen writes a private key file and prints its public key; it never overwrites', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-cli-')), 'alice.key');
  const a = io();
  assert.equal(await runCli(['--json', 'keygen', '--out', file], a.io), ExitCode.Ok);
  const printed = JSON.parse(a.out.join('\n'));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(printed.publicKey, publicKeyOf(decodeBase64(readFileSync(file, 'utf8').trim())!));
  const b = io();
  assert.equal(await runCli(['keygen', '--out', file], b.io), ExitCode.Usage);
  assert.match(b.err.join('\n'), /already exists; refusing to overwrite a key/);
});

test('keygen prints policy lines that, pasted under approvers.allowed, parse and carry the key', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-cli-')), 'dana.key');
  const a = io();
  assert.equal(await runCli(['keygen', '--id', 'dana', '--out', file], a.io), ExitCode.Ok);
  const text = a.out.join('\n');
  const lines = text.split('\n').filter((l) => l.startsWith('    '));
  assert.equal(lines.length, 2);
  const sample = readFileSync(resolve(__dirname, '../../policy/airlock.policy.yaml'), 'utf8');
  const edited = sample.replace(/(\n  allowed:\n)/, `$1${lines.join('\n')}\n`);
  assert.notEqual(edited, sample);
  const { policy } = parsePolicy(edited, 'edited');
  const dana = policy.approvers.allowed.find((x) => x.id === 'dana');
  assert.equal(dana?.publicKey, publicKeyOf(decodeBase64(readFileSync(file, 'utf8').trim())!));
  const empty = io();
  assert.equal(await runCli(['keygen', '--id', ' ', '--out', `${file}.2`], empty.io), ExitCode.Usage);
  assert.match(empty.err.join('\n'), /--id must be a non-empty approver id/);
});

test('usage errors exit 2 before anything is contacted', async () => {
  const a = io();
  assert.equal(await runCli(['approve', 'promotion-x'], a.io), ExitCode.Usage);
  assert.match(a.err.join('\n'), /required option '--as <approver>'/);
  const b = io();
  assert.equal(await runCli(['report', '--since', 'forever'], b.io), ExitCode.Usage);
  assert.match(b.err.join('\n'), /--since: "forever" must look like 30d or 12h/);
  const c = io();
  assert.equal(await runCli(['status'], c.io), ExitCode.Usage);
});

test('waive: bad options exit 2 naming the option, before anything is contacted', async () => {
  const key = join(mkdtempSync(join(tmpdir(), 'airlock-cli-')), 'alice.key');
  assert.equal(await runCli(['keygen', '--out', key], io().io), ExitCode.Ok);
  const cases: Array<[string[], RegExp]> = [
    [['--reason', 'ok'], /^airlock: waive: --finding ID is required, once per finding waived/],
    [['--finding', ' ', '--reason', 'ok'], /--finding ID is required/],
    [['--finding', 'replicas-1'], /^airlock: waive: --reason is required$/],
    [['--finding', 'replicas-1', '--reason', '  '], /^airlock: waive: --reason is required$/],
    [['--finding', 'replicas-1', '--reason', 'x'.repeat(1001)], /--reason is 1001 characters; at most 1000/],
  ];
  for (const [args, expected] of cases) {
    const r = io();
    assert.equal(await runCli(['waive', 'promotion-x', '--as', 'alice', '--key', key, ...args], r.io), ExitCode.Usage);
    assert.match(r.err.join('\n'), expected);
  }
  const noKey = io();
  assert.equal(
    await runCli(['waive', 'promotion-x', '--as', 'alice', '--finding', 'replicas-1', '--reason', 'ok'], noKey.io),
    ExitCode.Usage,
  );
  assert.match(noKey.err.join('\n'), /--key FILE is required: a waiver is always signed/);
});
