// The folder of Airlock's package.json, found by walking up: the same answer from the TypeScript
// sources (tsx) and from the compiled JavaScript in dist/, whose folders are one level deeper.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'policy'))) return dir;
    if (dirname(dir) === dir) throw new Error(`package root: no package.json above ${from}`);
  }
}
