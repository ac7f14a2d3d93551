// Plans and applies one Terraform root at one commit with the real `tofu`: a private checkout of
// the commit, `init` against Airlock's local state, `plan -out`, `show`, and for an apply, `apply`
// of exactly that saved plan. Rollback is applyRoot at the base commit (or with `destroy` at the
// head commit, for a root the change created).
import { join, posix } from 'node:path';
import { throwIfAborted } from '../cancellation';
import { checkoutRoot, type RootCheckout } from './root-checkout';
import {
  TerraformApplyError,
  TerraformConfigError,
  TerraformLockError,
  TerraformPlanChangedError,
  type TerraformError,
  type TerraformStage,
} from './terraform-errors';
import { readPlan, type TerraformPlan } from './terraform-plan';
import type { TerraformRootRequest } from './terraform-source';
import { runTofu, type TofuResult } from './run-tofu';

export interface TerraformRunnerOptions {
  /** Path of the tofu binary (resolveTofuBinary()). */
  tofu: string;
  /** How long a run waits for a state lock held by another run before failing (retryably). */
  lockTimeoutSeconds?: number;
}

export interface ApplyRootRequest extends TerraformRootRequest {
  /** The digest approvers signed; the apply refuses a plan whose digest differs. */
  expectedDigest?: string;
}

export interface TerraformRunner {
  planRoot(req: TerraformRootRequest): Promise<TerraformPlan>;
  /** Plans, then applies that saved plan; returns the plan that was applied. */
  applyRoot(req: ApplyRootRequest): Promise<TerraformPlan>;
}

const MAX_DETAIL = 4000;

function trimmed(text: string): string {
  const t = text.trim();
  return t.length <= MAX_DETAIL ? t : `${t.slice(0, MAX_DETAIL)}\n… (${t.length - MAX_DETAIL} more characters)`;
}

/** tofu's diagnostics say "on <file> line <n>", the file relative to the root directory. */
function diagnosticLocation(stderr: string, root: string): { file?: string; line?: number } {
  const m = /\bon (\S+) line (\d+)/.exec(stderr);
  return m ? { file: posix.normalize(posix.join(root, m[1])), line: Number(m[2]) } : {};
}

function classify(stage: TerraformStage, root: string, commit: string, r: TofuResult): TerraformError {
  const details = { root, commit, stage, detail: trimmed(r.stderr || r.stdout), ...diagnosticLocation(r.stderr, root) };
  if (/Error acquiring the state lock/.test(r.stderr))
    return new TerraformLockError('the state is locked by another run', details);
  if (stage === 'apply') return new TerraformApplyError(`tofu apply failed (exit ${r.code})`, details);
  return new TerraformConfigError(`tofu ${stage} failed (exit ${r.code})`, details);
}

export function createTerraformRunner({ tofu, lockTimeoutSeconds = 30 }: TerraformRunnerOptions): TerraformRunner {
  const lockFlags = ['-lock=true', `-lock-timeout=${lockTimeoutSeconds}s`];

  async function tofuIn(
    co: RootCheckout,
    req: TerraformRootRequest,
    stage: TerraformStage,
    args: string[],
  ): Promise<string> {
    throwIfAborted(req.signal);
    let r: TofuResult;
    try {
      r = await runTofu(tofu, [...args, '-no-color'], { cwd: co.rootDir, signal: req.signal });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      throw new TerraformConfigError(`cannot run ${tofu}`, {
        root: req.dir,
        commit: co.commit,
        stage,
        detail: `${(err as Error).message} (install it with scripts/install-opentofu.sh or set AIRLOCK_TOFU)`,
      });
    }
    if (r.code !== 0) throw classify(stage, req.dir, co.commit, r);
    return r.stdout;
  }

  /** init, workspace, plan -out, show: the checkout is left ready for `apply` of the saved plan. */
  async function plan(co: RootCheckout, req: TerraformRootRequest): Promise<{ plan: TerraformPlan; file: string }> {
    await tofuIn(co, req, 'init', ['init', '-input=false', '-reconfigure']);
    if (req.workspace && req.workspace !== 'default')
      await tofuIn(co, req, 'workspace', ['workspace', 'select', '-or-create=true', req.workspace]);
    const file = join(co.scratchDir, 'airlock.tfplan');
    const varFlags = co.varFiles.map((f) => `-var-file=${f}`);
    const mode = req.destroy ? ['-destroy'] : [];
    await tofuIn(co, req, 'plan', ['plan', '-input=false', ...mode, ...lockFlags, ...varFlags, `-out=${file}`]);
    const json = await tofuIn(co, req, 'show', ['show', '-json', file]);
    const text = await tofuIn(co, req, 'show', ['show', file]);
    return { plan: readPlan(json, text), file };
  }

  async function withCheckout<T>(req: TerraformRootRequest, fn: (co: RootCheckout) => Promise<T>): Promise<T> {
    throwIfAborted(req.signal);
    const co = await checkoutRoot(req);
    try {
      return await fn(co);
    } finally {
      await co.dispose();
    }
  }

  return {
    planRoot: (req) => withCheckout(req, async (co) => (await plan(co, req)).plan),
    applyRoot: (req) =>
      withCheckout(req, async (co) => {
        const planned = await plan(co, req);
        if (req.expectedDigest !== undefined && req.expectedDigest !== planned.plan.digest)
          throw new TerraformPlanChangedError('the plan differs from the approved one', {
            root: req.dir,
            commit: co.commit,
            stage: 'plan',
            detail: `approved ${req.expectedDigest}, now ${planned.plan.digest}:\n${trimmed(planned.plan.text)}`,
          });
        // A saved plan is applied exactly as shown; tofu itself refuses it if the state moved since.
        await tofuIn(co, req, 'apply', ['apply', '-input=false', ...lockFlags, planned.file]);
        return planned.plan;
      }),
  };
}
