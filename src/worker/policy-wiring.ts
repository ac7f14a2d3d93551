// Plugs the policy engine into the worker's activities: the change's trees come from a local clone.
import { basename } from 'node:path';
import type { ChangeChecker } from '../activities/gate';
import type { DeployWindowFn } from '../activities/deploy-window';
import { diffTrees, type ChangeTrees } from '../policy/engine/change-files';
import { checkChange } from '../policy/engine/check-change';
import { LIMIT_RULES } from '../policy/engine/change-limits';
import { changedRenderInputs } from '../policy/engine/render-inputs';
import type { Finding } from '../policy/engine/finding';
import { deployWait } from '../policy/engine/planned-operations';
import { readTrees } from '../policy/engine/trees/read-trees';
import { TreeError } from '../policy/engine/trees/tree-error';
import { checkRendered, type EnvironmentRenders } from '../policy/engine/check-rendered';
import { environmentSource } from '../policy/config/environment-source-schema';
import type { Policy } from '../policy/config/schema';
import type { Change } from '../workflows/messages';
import { objectIdentity, renderKubernetes, RenderError, type RenderedObject } from '../integrations/render';

const ENVIRONMENTS = ['staging', 'production'] as const;

/**
 * The object rules on what each environment renders at base and head (a service whose policy says
 * how it is rendered); a file-level finding of the same rule on the same file is not repeated. A
 * render that fails blocks: what cannot be rendered cannot be applied or judged.
 */
async function renderedFindings(
  repoDir: string,
  policy: Policy,
  change: Change,
  trees: ChangeTrees,
  fileFindings: Finding[],
  now: Date,
) {
  const service = policy.services.find((s) => s.name === change.service);
  if (!service?.environments || !change.baseCommit) return [];
  // Content the engine refused to read (too large, links, submodules) is not handed to a renderer either.
  if (fileFindings.some((f) => LIMIT_RULES.has(f.rule))) return [];
  const changed = (await diffTrees(trees)).map((f) => f.path);
  const renders: EnvironmentRenders[] = [];
  for (const environment of ENVIRONMENTS) {
    const source = environmentSource(service, environment).kubernetes;
    if (!source || 'image' in source) continue;
    const namespace = policy.kubernetes?.[environment].namespace ?? 'default';
    try {
      // A base without the service's directory renders nothing: the change adds the service.
      const [base, head, again] = await Promise.all([
        renderKubernetes(source, { repoDir, commit: change.baseCommit, namespace, absentIsEmpty: true }),
        renderKubernetes(source, { repoDir, commit: change.commit, namespace }),
        renderKubernetes(source, { repoDir, commit: change.commit, namespace }),
      ]);
      const unstable = firstDifference(head, again);
      if (unstable) return [unstableRender(environment, unstable)];
      renders.push({ environment, base, head, changedInputs: await changedRenderInputs(source, changed, trees) });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      return [
        { rule: 'unrenderable', level: 'block' as const, file: err.path, message: `${environment}: ${err.message}` },
      ];
    }
  }
  const seen = new Set(fileFindings.map((f) => `${f.rule} ${f.file ?? ''}`));
  const findings = await checkRendered(policy, renders, { now, service: service.name });
  return findings.filter((f) => !seen.has(`${f.rule} ${f.file ?? ''}`));
}

/** The first object two renders of one commit disagree on (a random or time-based template value). */
function firstDifference(a: RenderedObject[], b: RenderedObject[]): RenderedObject | undefined {
  const other = new Map(b.map((r) => [objectIdentity(r.object), JSON.stringify(r.object)]));
  return a.find((r) => other.get(objectIdentity(r.object)) !== JSON.stringify(r.object));
}

/**
 * A render that differs each time cannot be promoted: the diff approvers sign would never match
 * production at the rollout, and staging would not run what production gets.
 */
function unstableRender(environment: string, r: RenderedObject): Finding {
  return {
    rule: 'unrenderable',
    level: 'block',
    file: r.source,
    message: `${environment}: ${objectIdentity(r.object)} (from ${r.source}) renders differently each time from the same commit (a random or time-based value such as randAlphaNum or now): what approvers are shown could never be what is applied; make the value an input (values file, generator literal)`,
  };
}

/**
 * Nothing read the change's content (no clone, no base commit): forbidden paths, secrets, probes and
 * memory were never checked. The gate fails closed unless the policy opts out, and then the warning
 * travels with the change to every status (`airlock status`, the check run, Slack).
 */
export function uncheckedChange(policy: Policy, why: string): Finding[] {
  if (policy.checks.allowUncheckedChanges)
    return [
      {
        rule: 'unchecked-change',
        level: 'warn',
        message: `UNCHECKED CHANGE: ${why}, so no content rule ran (forbidden paths, secrets, probes, memory). The policy lets it through (checks.allowUncheckedChanges: true); approvers must read the whole diff themselves`,
      },
    ];
  return [
    {
      rule: 'unchecked-change',
      level: 'block',
      message: `${why}. Airlock does not promote what it cannot check: give the worker a clone (AIRLOCK_REPO_DIR) that has both commits, or, outside production only, set checks.allowUncheckedChanges: true in the policy`,
    },
  ];
}

/**
 * What the worker forbids to every change whatever the policy says: a file named like the worker's
 * own policy anywhere in the repository (the policy itself lies outside the clone, see config.ts),
 * so a change cannot plant or edit a copy that someone syncs into place.
 */
export function workerProtectedPaths(policyPath: string): string[] {
  // Glob characters in the file name are matched literally.
  return [`**/${basename(policyPath).replace(/[*?[\]{}()!+@\\]/g, '\\$&')}`];
}

export interface ChangeCheckerOptions {
  /** Repository paths forbidden on top of the policy's globs (the worker's own policy file name). */
  protectedPaths?: string[];
}

/** Content checks of the change's trees (read from a local clone at repoDir). */
export function createChangeChecker(repoDir?: string, o: ChangeCheckerOptions = {}): ChangeChecker {
  return async (policy, change) => {
    if (!repoDir)
      return uncheckedChange(policy, "no clone configured (AIRLOCK_REPO_DIR) — the change's content cannot be checked");
    if (!change.baseCommit)
      return uncheckedChange(
        policy,
        `change ${change.commit.slice(0, 12)} carries no baseCommit — the change's content cannot be checked (nothing to compare it with)`,
      );
    try {
      const trees = await readTrees(repoDir, change.baseCommit, change.commit);
      const now = new Date();
      const findings = await checkChange(policy, trees, {
        service: change.service,
        now,
        ...(o.protectedPaths ? { protectedPaths: o.protectedPaths } : {}),
      });
      return [...findings, ...(await renderedFindings(repoDir, policy, change, trees, findings, now))];
    } catch (err) {
      if (!(err instanceof TreeError)) throw err;
      // The gate fails closed: a change whose content cannot be read is not promoted.
      return [
        {
          rule: 'unreadable-change',
          level: 'block',
          message: `cannot read change ${change.commit.slice(0, 12)} (base ${change.baseCommit.slice(0, 12)}) from ${repoDir}: ${err.reason}. Fetch the commits into the clone and start the promotion again`,
        },
      ];
    }
  };
}

export const deployWindow: DeployWindowFn = (policy, service, environment, now) =>
  deployWait(policy.checks.plannedOperations, service, environment, now);
