// Vitest globalSetup, once per run, for any tier that starts servers or the CLI:
// - `bash scripts/setup.sh`: the installers are idempotent (a stamp check each once installed) and
//   the Kubernetes control plane builds in the background, beside the tiers that don't need it
//   (test/helpers/kubernetes-cluster.ts waits for it; a lock keeps it to one build at a time).
//   Skipped when AIRLOCK_SETUP_DONE=1: `npm test` ran it itself before lint and typecheck.
// - `npm run build`: tests spawn the real `airlock` command (bin/airlock.js runs dist/), which
//   must be the code under test, not the last build.
// Pure tiers alone (unit, policy) need neither.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const PURE_TIERS = new Set(['unit', 'policy']);
const ROOT = resolve(__dirname, '..');

export default function setup(project: TestProject): void {
  const tiers = project.vitest.projects.map((p) => p.name);
  if (tiers.length > 0 && tiers.every((t) => PURE_TIERS.has(t))) return;
  if (process.env.AIRLOCK_SETUP_DONE !== '1') {
    execFileSync('bash', ['scripts/setup.sh'], { cwd: ROOT, stdio: 'inherit' });
    process.env.AIRLOCK_SETUP_DONE = '1';
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}
