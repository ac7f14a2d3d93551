// Plugs the policy engine into the worker's activities: the change's trees come from a local clone.
import type { ChangeChecker } from '../activities/gate';
import type { DeployWindowFn } from '../activities/deploy-window';
import { diffTrees, type ChangeTrees } from '../policy/engine/change-files';
import { checkChange } from '../policy/engine/check-change';
import { changedRenderInputs } from '../policy/engine/render-inputs';
import type { Finding } from '../policy/engine/finding';
import { deployWait } from '../policy/engine/planned-operations';
import { gitTree } from '../policy/engine/trees/git-tree';
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

function skipped(why: string): Finding[] {
  // Never a silent allow: the approvers see that nobody read the change's content.
  return [
    {
      rule: 'content-checks-skipped',
      level: 'warn',
      message: `change-content checks were skipped: ${why}; approvers must review the diff themselves`,
    },
  ];
}

/** Content checks of the change's trees (read from a local clone at repoDir). */
export function createChangeChecker(repoDir?: string): ChangeChecker {
  return async (policy, change) => {
    if (!repoDir) return skipped('the worker has no repository clone (set AIRLOCK_REPO_DIR)');
    if (!change.baseCommit)
      return skipped(`change ${change.commit.slice(0, 12)} carries no baseCommit to compare with`);
    try {
      const trees = { base: await gitTree(repoDir, change.baseCommit), head: await gitTree(repoDir, change.commit) };
      const now = new Date();
      const findings = await checkChange(policy, trees, { service: change.service, now });
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
