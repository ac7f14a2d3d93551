// Which `tofu` the worker runs: AIRLOCK_TOFU, else the pinned build scripts/install-opentofu.sh
// puts in .tools/bin, else whatever `tofu` is on PATH. Resolved once at start-up, never at import.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

// src/integrations/terraform (tsx) and dist/integrations/terraform (compiled) are both 3 levels deep.
const PINNED = resolve(__dirname, '../../../.tools/bin/tofu');

export function resolveTofuBinary(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AIRLOCK_TOFU?.trim();
  if (configured) return configured;
  return existsSync(PINNED) ? PINNED : 'tofu';
}
