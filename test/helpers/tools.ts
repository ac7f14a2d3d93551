// Where the project-local tool binaries live: Temporal (scripts/install-temporal.sh), kustomize and Helm.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
const BIN = resolve(REPO_ROOT, '.tools/py/bin');

/** existing-path when the pinned binary is installed; otherwise let the SDK download (where a network allows). */
export function serverExecutable(name: 'temporal' | 'temporal-test-server') {
  const path = resolve(BIN, name);
  return existsSync(path) ? { type: 'existing-path' as const, path } : undefined;
}

/**
 * The pinned render tool built by scripts/install-<tool>.sh (setup.sh runs it). Tests use the
 * project's own build, never one on PATH, so they test the version the worker runs.
 */
export function renderToolExecutable(tool: 'kustomize' | 'helm'): string {
  const path = resolve(REPO_ROOT, '.tools/bin', tool);
  if (!existsSync(path)) {
    throw new Error(
      `${tool} is not installed at ${path}: run \`bash scripts/install-${tool}.sh\` (or scripts/setup.sh)`,
    );
  }
  return path;
}
