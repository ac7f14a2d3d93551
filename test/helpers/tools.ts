// Where the project-local Temporal binaries live (installed by scripts/install-temporal.sh).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
const BIN = resolve(REPO_ROOT, '.tools/py/bin');

/** existing-path when the pinned binary is installed; otherwise let the SDK download (where a network allows). */
export function serverExecutable(name: 'temporal' | 'temporal-test-server') {
  const path = resolve(BIN, name);
  return existsSync(path) ? { type: 'existing-path' as const, path } : undefined;
}
