// The deployer of the change itself: for a service whose policy says how its environments are
// rendered (`services[].environments`: kustomize, Helm or manifests, and a Terraform root), each
// step applies what the merge commit renders, not an image tag. Staging and production get the
// full render (server-side apply, prune, readiness); the canary runs the production render's
// changed pod templates beside stable; a snapshot records every object the change touches exactly
// (and the commit Terraform roots go back to), and restore puts every one of them back. Services
// in image-tag mode go to the image deployer as before.
import { createHash } from 'node:crypto';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Environment } from '../workflows/messages';
import type { EnvironmentSource, KubernetesSource, TerraformSource } from '../policy/config/environment-source-schema';
import { environmentSource } from '../policy/config/environment-source-schema';
import type { KubernetesSettings } from '../policy/config/kubernetes-schema';
import {
  DeployRejectedError,
  type ChangePreview,
  type ChangeRef,
  type DeployCallOptions,
  type Deployer,
  type DeployResult,
  type EnvironmentSnapshot,
  type StagedImage,
} from './deployer';
import { renderKubernetes } from './render';
import { applyObjects } from './kubernetes/object-set-apply';
import { describeAutoscaled, yieldReplicasToAutoscalers } from './kubernetes/object-set-autoscaled';
import { canaryObjects, describeSupport } from './kubernetes/object-set-canary';
import { createObjectSetClient } from './kubernetes/object-set-client';
import { deleteObjects } from './kubernetes/object-set-deletion';
import { diffObjects } from './kubernetes/object-set-diff';
import { restoreObjects } from './kubernetes/object-set-restore';
import { snapshotObjects, type ObjectSnapshot } from './kubernetes/object-set-snapshot';
import { describeId, idKey, idOf, type Json, type ObjectId } from './kubernetes/object-set';
import { KEPT_KINDS } from './kubernetes/object-set-order';
import { pinObjectImages, readObjectSetImages } from './kubernetes/object-set-images';
import type { TerraformRunner } from './terraform/terraform-runner';
import { createTerraformChange, type RootRestore } from './terraform/terraform-change';

/** The kind written into snapshots this deployer takes; restore hands any other to the image deployer. */
export const CHANGE_DEPLOYER = 'change';

/** What a change-deployer snapshot carries beyond EnvironmentSnapshot: every touched object, and Terraform. */
export interface ChangeSnapshot extends EnvironmentSnapshot {
  deployer: typeof CHANGE_DEPLOYER;
  objects: ObjectSnapshot[];
  /** Roots the change reaches, in apply order: re-applied at `commit` (the base), or destroyed when the change created them. */
  terraform: RootRestore[];
}

export interface ChangeDeployerOptions {
  kubeconfig: KubeConfig;
  /** The policy's `kubernetes:` section: namespace and context per environment. */
  settings: () => KubernetesSettings;
  /** The policy's services (their `environments`), read at each call: the live policy. */
  services: () => { name: string; environments?: Parameters<typeof environmentSource>[0]['environments'] }[];
  /** The worker's clone, read by commit. */
  repoDir: string;
  /** Services in image-tag mode. */
  imageDeployer: Deployer;
  /** Terraform roots: the runner and the directory Airlock keeps their state under (one per environment and root). */
  terraform?: { runner: TerraformRunner; stateDir: string };
  pollMs?: number;
}

const isNonRetryable = (err: unknown) =>
  err instanceof DeployRejectedError || (err as { nonRetryable?: unknown } | null)?.nonRetryable === true;

/**
 * One error for a restore whose Terraform or object part failed: the single failure as it is, or
 * both in one message, non-retryable when either is (a retry would fail the same way).
 */
function restoreFailure(failures: unknown[], done: string[]): unknown {
  const restored = done.length ? ` (restored meanwhile: ${done.join('; ')})` : '';
  if (failures.length === 1) {
    const [err] = failures;
    if (err instanceof Error && restored) err.message += restored;
    return err;
  }
  const message = `restore failed in both parts: ${failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n--- and ---\n')}`;
  return failures.some(isNonRetryable) ? new DeployRejectedError(message) : new Error(message);
}

const isRendered = (k?: KubernetesSource): k is Exclude<KubernetesSource, { image: unknown }> => !!k && !('image' in k);
const canaryOf = (name: string) => `${name}-canary`;

export function createChangeDeployer(o: ChangeDeployerOptions): Deployer {
  const sourceOf = (service: string, environment: Environment): EnvironmentSource => {
    const s = o.services().find((x) => x.name === service);
    return s ? environmentSource(s, environment) : { kubernetes: { image: {} } };
  };
  const ownsChange = (service: string, environment: Environment) => {
    const src = sourceOf(service, environment);
    return isRendered(src.kubernetes) || !!src.terraform;
  };
  const needChange = (service: string, change?: ChangeRef): ChangeRef => {
    if (!change)
      throw new DeployRejectedError(
        `${service}: its policy renders environments from the repository, but the deploy carries no commit`,
      );
    return change;
  };
  const kubeconfigFor = (environment: Environment): { kc: KubeConfig; namespace: string } => {
    const s = o.settings()[environment];
    const context = s.context ?? o.kubeconfig.getCurrentContext();
    const kc = new KubeConfig();
    kc.loadFromString(o.kubeconfig.exportConfig());
    if (!kc.getContextObject(context))
      throw new DeployRejectedError(
        `kubernetes: policy kubernetes.${environment}.context "${context}" is not a context of the kubeconfig`,
      );
    kc.setCurrentContext(context);
    return { kc, namespace: s.namespace };
  };
  /** The render's objects, and the repo file of each (refusals name it). */
  const renderSet = async (
    source: KubernetesSource | undefined,
    commit: string | undefined,
    namespace: string,
    signal?: AbortSignal,
    absentIsEmpty = false,
  ): Promise<{ desired: KubernetesObject[]; sources: Map<string, string> }> => {
    if (!isRendered(source) || !commit) return { desired: [], sources: new Map() };
    const objects = await renderKubernetes(source, {
      repoDir: o.repoDir,
      commit,
      namespace,
      absentIsEmpty,
      ...(signal ? { signal } : {}),
    });
    return {
      desired: objects.map((r) => r.object),
      sources: new Map(objects.map((r) => [idKey(idOf(r.object, namespace)), r.source])),
    };
  };
  const render = async (...args: Parameters<typeof renderSet>) => (await renderSet(...args)).desired;
  /**
   * The head render of `service` as an object set (workloads an HPA scales at their live count),
   * and what the change removes (the base had, the head has not).
   */
  const changeSet = async (
    kc: KubeConfig,
    service: string,
    source: KubernetesSource | undefined,
    change: ChangeRef,
    namespace: string,
    signal?: AbortSignal,
    images?: StagedImage[],
  ) => {
    const head = await renderSet(source, change.commit, namespace, signal);
    // A base without the service's directory: the change adds the service, there was nothing.
    const base = await render(source, change.baseCommit, namespace, signal, true);
    const yielded = await yieldReplicasToAutoscalers(
      createObjectSetClient(kc),
      { namespace, service, ...head },
      signal,
    );
    // What staging ran at one digest is what this environment gets (object-set-images.ts).
    const { objects, pins } = pinObjectImages(yielded.set.desired, images);
    const set = { ...yielded.set, desired: objects };
    const { removed, left } = removedByChange(base, head.desired, namespace);
    return { set, head: head.desired, removed, setNotes: [...yielded.kept.map(describeAutoscaled), ...left, ...pins] };
  };
  const wait = (signal?: AbortSignal) => ({
    timeoutMs: o.settings().rolloutTimeoutMinutes * 60_000,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    ...(signal ? { signal } : {}),
  });
  const terraformChange = o.terraform
    ? createTerraformChange({ runner: o.terraform.runner, stateDir: o.terraform.stateDir, repoDir: o.repoDir })
    : undefined;
  /** The environment's Terraform roots and what plans and applies them; refused when the worker keeps no state. */
  const terraformOf = (environment: Environment, roots: TerraformSource[] | undefined) => {
    if (!roots?.length) return undefined;
    if (!terraformChange)
      throw new DeployRejectedError(
        `terraform: the policy gives ${environment} Terraform roots (${roots.map((r) => r.dir).join(', ')}) but the worker has no state directory (set AIRLOCK_TERRAFORM_STATE_DIR)`,
      );
    return { roots, run: terraformChange };
  };

  /**
   * Objects the base rendered that the head no longer does: deleted even if Airlock never labelled
   * them; and those of KEPT_KINDS, which are left in place (their data) and named.
   */
  const removedByChange = (base: KubernetesObject[], head: KubernetesObject[], namespace: string) => {
    const inHead = new Set(head.map((x) => idKey(idOf(x, namespace))));
    // Only in the environment's namespace: nothing elsewhere is ever deleted.
    const gone = base
      .map((x) => idOf(x, namespace))
      .filter((id) => id.namespace === namespace && !inHead.has(idKey(id)));
    return {
      removed: gone.filter((id) => !KEPT_KINDS.has(id.kind)),
      left: gone
        .filter((id) => KEPT_KINDS.has(id.kind))
        .map(
          (id) =>
            `${describeId(id)} is no longer rendered but is left in place (deleting it deletes its data): delete it by hand once it is not needed`,
        ),
    };
  };

  /** The full render of `environment` at the change's commit: applied, pruned, ready. */
  async function applyRender(
    service: string,
    environment: Environment,
    change: ChangeRef,
    signal?: AbortSignal,
    pinTo?: StagedImage[],
  ): Promise<{ done: string[]; images?: StagedImage[] }> {
    const source = sourceOf(service, environment);
    const done: string[] = [];
    let images: StagedImage[] | undefined;
    // Terraform is planned (and in production checked for destroy and replace) before anything is applied.
    const tf = terraformOf(environment, source.terraform);
    const applyTerraform = await tf?.run.prepareApply(service, environment, tf.roots, change, signal);
    if (isRendered(source.kubernetes)) {
      const { kc, namespace } = kubeconfigFor(environment);
      const { set, removed, setNotes } = await changeSet(
        kc,
        service,
        source.kubernetes,
        change,
        namespace,
        signal,
        pinTo,
      );
      await diffObjects(kc, set, { removed, ...(signal ? { signal } : {}) }); // refuses foreign objects
      const r = await applyObjects(kc, set, wait(signal));
      const gone = await deleteObjects(createObjectSetClient(kc), removed, wait(signal));
      done.push(`${r.applied.length} objects applied, ${r.pruned.length + gone.length} removed in ${namespace}`);
      done.push(...setNotes);
      // What staging runs, once ready: production receives these digests.
      if (environment === 'staging') images = await readObjectSetImages(kc, namespace, set.desired, { signal });
    }
    if (applyTerraform) done.push(...(await applyTerraform()));
    return { done, ...(images ? { images } : {}) };
  }

  const result = (summary: string, images?: StagedImage[]): DeployResult => ({
    readyAt: new Date().toISOString(),
    summary,
    ...(images ? { images } : {}),
  });

  return {
    kind: `change+${o.imageDeployer.kind}`,

    async snapshot(service, environment, options: DeployCallOptions = {}, change?: ChangeRef) {
      if (!ownsChange(service, environment)) return o.imageDeployer.snapshot(service, environment, options, change);
      const ref = needChange(service, change);
      const source = sourceOf(service, environment);
      let objects: ObjectSnapshot[] = [];
      if (isRendered(source.kubernetes)) {
        const { kc, namespace } = kubeconfigFor(environment);
        const { set, head, removed } = await changeSet(kc, service, source.kubernetes, ref, namespace, options.signal);
        // `removed`: an object the change would delete that another service owns is refused here, first.
        const diff = await diffObjects(kc, set, { ...options, removed });
        // Every object the change may touch: the render's, the labelled ones it prunes, the ones the
        // base had, and in production the canary copies (absent now, so restore deletes them).
        const ids = new Map<string, ObjectId>();
        for (const id of [
          ...diff.objects.map((d) => d.id),
          ...removed,
          ...(environment === 'production'
            ? head
                .filter((x) => x.kind === 'Deployment')
                .map((x) => ({ ...idOf(x, namespace), name: canaryOf(x.metadata?.name ?? '') }))
            : []),
        ])
          ids.set(idKey(id), id);
        objects = await snapshotObjects(kc, [...ids.values()], options);
      }
      const tf = terraformOf(environment, source.terraform);
      const terraform = tf ? await tf.run.snapshot(environment, tf.roots, ref) : [];
      const snapshot: ChangeSnapshot = {
        service,
        environment,
        stable: null,
        canary: null,
        capturedAt: new Date().toISOString(),
        deployer: CHANGE_DEPLOYER,
        objects,
        terraform,
      };
      return snapshot;
    },

    async deploy(req, options = {}) {
      if (!ownsChange(req.service, req.environment)) return o.imageDeployer.deploy(req, options);
      const r = await applyRender(req.service, req.environment, needChange(req.service, req.change), options.signal);
      return result(
        `${req.service} ${req.environment} at ${req.change!.commit.slice(0, 12)}: ${r.done.join('; ')}`,
        r.images,
      );
    },

    async deployCanary(req, options = {}) {
      if (!ownsChange(req.service, 'production')) return o.imageDeployer.deployCanary(req, options);
      const ref = needChange(req.service, req.change);
      const source = sourceOf(req.service, 'production');
      if (!isRendered(source.kubernetes))
        return result(`${req.service}: nothing to canary (Terraform only): reaches production only after approval`);
      const { kc, namespace } = kubeconfigFor('production');
      const { set, removed } = await changeSet(
        kc,
        req.service,
        source.kubernetes,
        ref,
        namespace,
        options.signal,
        req.images,
      );
      const diff = await diffObjects(kc, set, { ...options, removed });
      // Server-defaulted objects on both sides, so only real template changes make a canary.
      const plan = canaryObjects({
        desired: diff.objects.flatMap((d) => (d.after ? [d.after] : [])),
        live: diff.objects.flatMap((d) => (d.before ? [d.before] : [])),
        percent: req.percent,
      });
      const notCanaried = plan.notCanaried.map((n) => `${describeId(n.id)} (${n.reason})`);
      const tail = notCanaried.length
        ? `; not canaried, reaches production only after approval: ${notCanaried.join(', ')}`
        : '';
      if (!plan.canary.length) return result(`${req.service}: no pod template changes, canary skipped${tail}`);
      // The new ConfigMaps and ServiceAccounts the new template may read first (apply order), then
      // the copies. All are in the production snapshot as absent: a restore deletes them.
      await applyObjects(
        kc,
        { namespace, service: req.service, desired: [...plan.support, ...plan.canary] as KubernetesObject[] },
        { ...wait(options.signal), prune: false },
      );
      const names = plan.canary.map((c) => (c as Json & { metadata: { name: string } }).metadata.name);
      const withSupport = describeSupport(plan, namespace);
      return result(`${req.service}: canary ${names.join(', ')} at ${req.percent}% of production${withSupport}${tail}`);
    },

    async promote(req, options = {}) {
      if (!ownsChange(req.service, 'production')) return o.imageDeployer.promote(req, options);
      // The full production render; the canary copies are labelled for the service and not in it: pruned.
      const ref = needChange(req.service, req.change);
      const r = await applyRender(req.service, 'production', ref, options.signal, req.images);
      return result(`${req.service} production at ${req.change!.commit.slice(0, 12)}: ${r.done.join('; ')}`);
    },

    async preview(req, options = {}): Promise<ChangePreview | undefined> {
      if (!ownsChange(req.service, req.environment)) return o.imageDeployer.preview?.(req, options);
      const source = sourceOf(req.service, req.environment);
      const parts: string[] = [];
      const digests: string[] = [];
      const notes: string[] = [];
      let refused: string | undefined;
      if (isRendered(source.kubernetes)) {
        const { kc, namespace } = kubeconfigFor(req.environment);
        const { set, removed, setNotes } = await changeSet(
          kc,
          req.service,
          source.kubernetes,
          req.change,
          namespace,
          options.signal,
          req.images,
        );
        notes.push(...setNotes);
        // What the rollout deletes is shown too, labelled by Airlock or not (removedByChange).
        const diff = await diffObjects(kc, set, { ...options, removed });
        const changed = diff.objects.filter((d) => d.action !== 'unchanged');
        parts.push(
          `# kubernetes ${namespace}: ${changed.map((d) => `${d.action} ${describeId(d.id)}`).join(', ') || 'no changes'}`,
          diff.text,
        );
        digests.push(diff.digest);
        if (req.environment === 'production') {
          const plan = canaryObjects({
            desired: diff.objects.flatMap((d) => (d.after ? [d.after] : [])),
            live: diff.objects.flatMap((d) => (d.before ? [d.before] : [])),
            percent: 10,
          });
          for (const n of plan.notCanaried)
            notes.push(`not canaried, reaches production only after approval: ${describeId(n.id)} (${n.reason})`);
        }
      }
      const tf = terraformOf(req.environment, source.terraform);
      if (tf) {
        const plans = await tf.run.preview(req.service, req.environment, tf.roots, req.change, options.signal);
        parts.push(...plans.parts);
        digests.push(...plans.digests);
        notes.push(...plans.notes);
        if (plans.refused) refused = plans.refused;
      }
      return {
        environment: req.environment,
        text: parts.join('\n'),
        digest: `sha256:${createHash('sha256').update(digests.join('\n')).digest('hex')}`,
        notes,
        ...(refused ? { refused } : {}),
      };
    },

    async restore(snapshot, options = {}) {
      if (snapshot.deployer !== CHANGE_DEPLOYER) return o.imageDeployer.restore(snapshot, options);
      const s = snapshot as ChangeSnapshot;
      const done: string[] = [];
      // Newest first: Terraform was applied after the objects, so it goes back first. A part that
      // fails does not stop the other: as much as possible is put back before the error is raised.
      const failures: unknown[] = [];
      const tf = terraformOf(
        s.environment,
        s.terraform.map((t) => t.source),
      );
      if (tf)
        await tf.run.restore(s.environment, s.terraform, options.signal).then(
          (lines) => done.push(...lines),
          (err: unknown) => failures.push(err),
        );
      if (s.objects.length) {
        const { kc, namespace } = kubeconfigFor(s.environment);
        await restoreObjects(kc, s.objects, wait(options.signal)).then(
          (r) => done.push(`${r.restored.length} objects restored, ${r.deleted.length} deleted in ${namespace}`),
          (err: unknown) => failures.push(err),
        );
      }
      if (failures.length) throw restoreFailure(failures, done);
      return result(`${s.service} ${s.environment} restored: ${done.join('; ') || 'nothing was touched'}`);
    },
  };
}
