// Vitest globalSetup: `bash scripts/setup.sh` once per run, so `npx vitest run` works alone: the
// installers are idempotent (a stamp check each once installed) and the Kubernetes control plane
// builds in the background, beside the tiers that don't need it (test/helpers/kubernetes-cluster.ts
// waits for it).
// Skipped when:
// - AIRLOCK_SETUP_DONE=1: `npm test` ran setup.sh itself before lint and typecheck, so the
//   Kubernetes build had a head start; a second setup.sh would start a second build beside it.
// - only pure tiers run (unit, policy): they need no outside tool.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const PURE_TIERS = new Set(['unit', 'policy']);

export default function setup(project: TestProject): void {
  if (process.env.AIRLOCK_SETUP_DONE === '1') return;
  const tiers = project.vitest.projects.map((p) => p.name);
  if (tiers.length > 0 && tiers.every((t) => PURE_TIERS.has(t))) return;
  execFileSync('bash', ['scripts/setup.sh'], { cwd: resolve(__dirname, '..'), stdio: 'inherit' });
  process.env.AIRLOCK_SETUP_DONE = '1';
}
