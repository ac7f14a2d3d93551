// Checks on the repo-relative paths a source names, against the tree of the commit being rendered,
// so a missing directory or values file is refused by name before any tool runs.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RenderError } from './render-error';

export async function requireInTree(
  root: string,
  path: string,
  want: 'directory' | 'file',
  tool: string,
  sha: string,
): Promise<void> {
  const found = await stat(join(root, path)).catch(() => undefined);
  const at = `at commit ${sha.slice(0, 12)}`;
  if (!found) throw new RenderError(tool, path, `does not exist ${at}`);
  if (want === 'directory' && !found.isDirectory()) throw new RenderError(tool, path, `is not a directory ${at}`);
  if (want === 'file' && !found.isFile()) throw new RenderError(tool, path, `is not a file ${at}`);
}

/** The tool's stderr, trimmed, with the private tree's location taken out so paths read repo-relative. */
export function toolMessage(stderr: string, root: string, code: number | null): string {
  const text = stderr.split(`${root}/`).join('').split(root).join('.').trim();
  return text || `exited with ${code === null ? 'a signal' : `code ${code}`} and printed nothing`;
}
