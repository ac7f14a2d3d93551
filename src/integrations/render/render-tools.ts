// Where the worker finds the render tools: AIRLOCK_KUSTOMIZE / AIRLOCK_HELM when set, else the
// project's own pinned build in .tools/bin (scripts/install-<tool>.sh), else the name on PATH; and
// running one on the private tree of a commit.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { RenderError } from './render-error';
import { runTool, ToolNotFoundError } from './run-tool';
import { toolMessage } from './tree-paths';

export type RenderTool = 'kustomize' | 'helm';

// src/integrations/render and dist/integrations/render are both three levels under the project.
const PROJECT_BIN = resolve(__dirname, '../../../.tools/bin');

const ENV_VARIABLE: Record<RenderTool, string> = { kustomize: 'AIRLOCK_KUSTOMIZE', helm: 'AIRLOCK_HELM' };

/** The executable to spawn for `tool`; a bare name means PATH lookup (ENOENT is reported by the runner). */
export function renderToolPath(tool: RenderTool, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[ENV_VARIABLE[tool]]?.trim();
  if (configured) return configured;
  const pinned = resolve(PROJECT_BIN, tool);
  return existsSync(pinned) ? pinned : tool;
}

/**
 * Runs `tool` in the private tree `cwd` and returns its stdout; a failure is a RenderError naming
 * `path` (the directory or chart rendered) with the tool's own message.
 */
export async function runRenderTool(
  tool: RenderTool,
  executable: string,
  args: string[],
  opts: { cwd: string; path: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<string> {
  let run;
  try {
    run = await runTool(executable, args, opts);
  } catch (err) {
    if (err instanceof ToolNotFoundError) {
      throw new RenderError(
        tool,
        opts.path,
        `${executable} not found or not executable: run scripts/install-${tool}.sh or set ${ENV_VARIABLE[tool]}`,
      );
    }
    throw err;
  }
  if (run.code !== 0) throw new RenderError(tool, opts.path, toolMessage(run.stderr, opts.cwd, run.code));
  return run.stdout;
}
