// The Kubernetes deploy target. The stable workload of a service is the Deployment named after it
// in the environment's namespace (context and namespace from the policy's `kubernetes:` section);
// the canary is `<service>-canary`, whose pods carry the stable pods' labels (so the stable
// Service's selector reaches them) plus airlock.dev/track=canary. Every write is a server-side
// apply by field manager "airlock" that carries the resourceVersion it was computed from, so a
// concurrent writer yields a 409 and a fresh read, never a lost update. See docs/kubernetes.md.
//
// Cancellation (the activity's signal, DeployCallOptions): every request carries the signal, so an
// abort drops the request in flight and refuses to send any other; retries, backoff sleeps,
// rollout polling and the wait for a deleted canary end at once, and the call rejects with the
// abort reason. An apply whose request already reached the API server before the abort stays
// applied (the workflow restores the snapshot after the cancelled activity has ended).
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import type { KubernetesEnvironmentSettings, KubernetesSettings } from '../../policy/config/kubernetes-schema';
import type { Environment } from '../../workflows/messages';
import type { Deployer, DeployResult, EnvironmentSnapshot, StagedImage, WorkloadState } from '../deployer';
import { DeployRejectedError } from '../deployer';
import { sleep, throwIfAborted } from '../cancellation';
import { withAbortSignal } from './kubernetes-abort';
import { imageTag, imageWithVersion, invalidVersion } from './image-ref';
import { describeObject, withRetry, type RetryOptions } from './kubernetes-errors';
import { getRawJson } from './kubernetes-raw';
import { isDigest, pinnedReference } from './image-digest';
import { listWorkloadPods, stagedImages } from './staged-images';
import { waitForRollout } from './kubernetes-rollout';

export const FIELD_MANAGER = 'airlock';
export const VERSION_ANNOTATION = 'airlock.dev/version';
export const TRACK_LABEL = 'airlock.dev/track';
export const canaryName = (service: string) => `${service}-canary`;

/** ceil(percent % of stable), never 0: a 10 % canary of 4 replicas is 1 pod, of 15 is 2. */
export function canaryReplicas(stableReplicas: number, percent: number): number {
  return Math.max(1, Math.ceil((stableReplicas * percent) / 100 - 1e-9));
}

export interface KubernetesDeployerOptions {
  /** The loaded kubeconfig; each environment uses its policy context (or the current one). */
  kubeconfig: KubeConfig;
  /** The policy's kubernetes section, read on every operation so a policy edit takes effect. */
  settings: () => KubernetesSettings;
  /** How often rollout status is read. */
  pollMs?: number;
  retry?: RetryOptions;
  /** Called while waiting for a rollout (activities heartbeat here). */
  onProgress?: (message: string) => void;
  now?: () => Date;
}

interface Target {
  kc: KubeConfig;
  apps: AppsV1Api;
  namespace: string;
  where: string;
}

type Json = Record<string, unknown>;

/** The parts of a Deployment (as the API server's JSON) that the deployer reads. */
interface DeploymentJson {
  metadata?: { resourceVersion?: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Json;
    progressDeadlineSeconds?: number;
    template?: Json;
  };
}

const applyOptions = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

interface TemplateJson {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { name: string; image?: string }[] };
}

function versionOf(template: TemplateJson | undefined): string {
  const annotated = template?.metadata?.annotations?.[VERSION_ANNOTATION];
  const image = template?.spec?.containers?.[0]?.image;
  return annotated ?? (image ? (imageTag(image) ?? image) : 'unknown');
}

export function createKubernetesDeployer(o: KubernetesDeployerOptions): Deployer {
  const now = o.now ?? (() => new Date());
  const clients = new Map<string, { kc: KubeConfig; apps: AppsV1Api }>();

  const target = (environment: Environment): Target => {
    const s: KubernetesEnvironmentSettings = o.settings()[environment];
    const context = s.context ?? o.kubeconfig.getCurrentContext();
    let client = clients.get(context);
    if (!client) {
      const kc = new KubeConfig();
      kc.loadFromString(o.kubeconfig.exportConfig());
      if (!kc.getContextObject(context)) {
        throw new DeployRejectedError(
          `kubernetes: policy kubernetes.${environment}.context "${context}" is not a context of the kubeconfig`,
        );
      }
      kc.setCurrentContext(context);
      client = { kc, apps: kc.makeApiClient(AppsV1Api) };
      clients.set(context, client);
    }
    return {
      ...client,
      namespace: s.namespace,
      where: `${environment} (context ${context}, namespace ${s.namespace})`,
    };
  };

  /** The Deployment exactly as the API server has it, or null when there is none. */
  const readOnce = async (t: Target, name: string, signal?: AbortSignal): Promise<DeploymentJson | null> => {
    try {
      return await getRawJson<DeploymentJson>(
        t.kc,
        `/apis/apps/v1/namespaces/${encodeURIComponent(t.namespace)}/deployments/${encodeURIComponent(name)}`,
        undefined,
        signal,
      );
    } catch (err) {
      if ((err as { code?: number }).code === 404) return null;
      throw err;
    }
  };
  const read = (t: Target, name: string, signal: AbortSignal | undefined) =>
    withRetry(
      'read',
      describeObject('Deployment', t.namespace, name),
      (attempt) => readOnce(t, name, attempt),
      o.retry,
      signal,
    );

  const mustRead = async (t: Target, name: string, signal: AbortSignal | undefined): Promise<DeploymentJson> => {
    const d = await read(t, name, signal);
    if (!d)
      throw new DeployRejectedError(
        `kubernetes: ${describeObject('Deployment', t.namespace, name)} not found in ${t.where}: Airlock deploys to an existing Deployment named after the service`,
      );
    return d;
  };

  /**
   * Server-side apply of `body`, recomputed from a fresh read on every (retried) attempt. After an
   * abort of `signal` no read, apply or retry is sent; an apply already sent is not taken back.
   */
  const apply = (
    t: Target,
    name: string,
    compute: (current: DeploymentJson | null) => Json,
    signal: AbortSignal | undefined,
  ) =>
    withRetry(
      'apply',
      describeObject('Deployment', t.namespace, name),
      async (attempt) => {
        const current = await readOnce(t, name, attempt);
        const spec = compute(current);
        const body = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          ...spec,
          metadata: {
            ...(spec.metadata as object),
            name,
            namespace: t.namespace,
            // Optimistic concurrency: a write computed from a stale read is refused (409) and retried.
            ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
          },
        };
        // Cancelled while reading: the apply is not sent (the request would refuse anyway).
        throwIfAborted(attempt);
        // force: Airlock is the deploy authority for these fields, whoever wrote them before.
        return t.apps.patchNamespacedDeployment(
          { name, namespace: t.namespace, body, fieldManager: FIELD_MANAGER, force: true },
          withAbortSignal(attempt, applyOptions),
        );
      },
      o.retry,
      signal,
    );

  const wait = (t: Target, name: string, signal: AbortSignal | undefined) =>
    waitForRollout(t.apps, t.namespace, name, {
      timeoutMs: o.settings().rolloutTimeoutMinutes * 60_000,
      pollMs: o.pollMs,
      onProgress: (m) => o.onProgress?.(`${describeObject('Deployment', t.namespace, name)}: waiting for ${m}`),
      signal,
    });

  /** Deletes the canary (its pods first: foreground) and waits until it is gone. */
  const removeCanary = async (t: Target, service: string, signal: AbortSignal | undefined): Promise<boolean> => {
    const name = canaryName(service);
    const object = describeObject('Deployment', t.namespace, name);
    const existed = await withRetry(
      'delete',
      object,
      async (attempt) => {
        try {
          await t.apps.deleteNamespacedDeployment(
            { name, namespace: t.namespace, propagationPolicy: 'Foreground' },
            withAbortSignal(attempt),
          );
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 404) return false;
          throw err;
        }
      },
      o.retry,
      signal,
    );
    const deadline = Date.now() + o.settings().rolloutTimeoutMinutes * 60_000;
    while (existed && (await read(t, name, signal))) {
      if (Date.now() >= deadline)
        throw new DeployRejectedError(
          `kubernetes: ${object} still terminating after ${o.settings().rolloutTimeoutMinutes} min`,
        );
      o.onProgress?.(`${object}: waiting for its pods to terminate`);
      await sleep(o.pollMs ?? 1_000, signal);
    }
    return existed;
  };

  /**
   * The template with `version` in the chosen containers' images and in the version annotation. An
   * image staging ran at a digest (`staged`) gets that digest; `pins` collects what each container got.
   */
  const withVersion = (
    template: Json | undefined,
    version: string,
    object: string,
    staged?: StagedImage[],
    pins: string[] = [],
  ): Json => {
    // A pod the API server refuses leaves the rollout stuck until the progress deadline: refuse it now.
    const invalid = invalidVersion(version);
    if (invalid) throw new DeployRejectedError(`kubernetes: version for ${object}: ${invalid}`);
    const t = structuredClone(template ?? {}) as TemplateJson & Json;
    const wanted = o.settings().containers;
    const containers = t.spec?.containers ?? [];
    const missing = (wanted ?? []).filter((n) => !containers.some((c) => c.name === n));
    if (missing.length)
      throw new DeployRejectedError(
        `kubernetes: ${object} has no container ${missing.map((m) => `"${m}"`).join(', ')} (policy kubernetes.containers)`,
      );
    for (const c of containers) {
      if (wanted && !wanted.includes(c.name)) continue;
      const image = imageWithVersion(c.image ?? '', version);
      // Only a well-formed digest: the list came back through workflow history.
      const digest = staged?.find((i) => i.reference === image)?.digest;
      const pinned = isDigest(digest) ? digest : undefined;
      c.image = pinned ? pinnedReference(image, pinned) : image;
      if (staged)
        pins.push(`${c.name} ${pinned ? `at staging's digest ${pinned.slice(0, 19)}…` : `by mutable ${image}`}`);
    }
    t.metadata = { ...t.metadata, annotations: { ...t.metadata?.annotations, [VERSION_ANNOTATION]: version } };
    return t;
  };

  const workload = (d: DeploymentJson | null): WorkloadState | null =>
    d
      ? {
          version: versionOf(d.spec?.template as TemplateJson),
          replicas: d.spec?.replicas ?? 1,
          template: d.spec?.template ?? {},
        }
      : null;

  /** The canary Deployment for `template`: the stable selector and labels plus the canary track. */
  const canaryBody = (stable: DeploymentJson, template: Json, replicas: number, service: string) => {
    const t = structuredClone(template) as TemplateJson & Json;
    t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, [TRACK_LABEL]: 'canary' } };
    const selector = stable.spec?.selector ?? {};
    return {
      metadata: {
        labels: { ...stable.metadata?.labels, [TRACK_LABEL]: 'canary' },
        annotations: { 'airlock.dev/canary-of': service },
      },
      spec: {
        replicas,
        selector: { ...selector, matchLabels: { ...selector.matchLabels, [TRACK_LABEL]: 'canary' } },
        ...(stable.spec?.progressDeadlineSeconds
          ? { progressDeadlineSeconds: stable.spec.progressDeadlineSeconds }
          : {}),
        template: t,
      },
    };
  };

  const result = (summary: string, images?: StagedImage[]): DeployResult => ({
    readyAt: now().toISOString(),
    summary: `[kubernetes] ${summary}`,
    ...(images ? { images } : {}),
  });

  /** What the rolled-out `d` runs, per image reference of the chosen containers (staged-images.ts). */
  const readImages = async (t: Target, d: V1Deployment, object: string, signal: AbortSignal | undefined) => {
    const wanted = o.settings().containers;
    const containers = (d.spec?.template.spec?.containers ?? [])
      .filter((c) => !wanted || wanted.includes(c.name))
      .map((c) => ({ name: c.name, image: c.image ?? '' }));
    const pods = await listWorkloadPods(t.kc, t.namespace, d.spec?.selector.matchLabels, object, {
      signal,
      ...(o.retry ? { retry: o.retry } : {}),
    });
    return stagedImages(containers, pods, object);
  };

  const pinSummary = (pins: string[]) => (pins.length ? `; ${pins.join(', ')}` : '');

  return {
    kind: 'kubernetes',

    async snapshot(service, environment, { signal } = {}): Promise<EnvironmentSnapshot> {
      const t = target(environment);
      const [stable, canary] = await Promise.all([read(t, service, signal), read(t, canaryName(service), signal)]);
      return {
        service,
        environment,
        stable: workload(stable),
        canary: workload(canary),
        capturedAt: now().toISOString(),
        deployer: 'kubernetes',
      };
    },

    async deploy({ service, environment, version }, { signal } = {}) {
      const t = target(environment);
      const object = describeObject('Deployment', t.namespace, service);
      await apply(
        t,
        service,
        (current) => {
          if (!current)
            throw new DeployRejectedError(
              `kubernetes: ${object} not found in ${t.where}: Airlock deploys to an existing Deployment named after the service`,
            );
          return {
            spec: {
              replicas: current.spec?.replicas ?? 1,
              template: withVersion(current.spec?.template, version, object),
            },
          };
        },
        signal,
      );
      const d = await wait(t, service, signal);
      const images = await readImages(t, d, object, signal);
      const ran = images.map((i) => `${i.reference} ${i.digest ? `runs ${i.digest.slice(0, 19)}…` : 'has no digest'}`);
      return result(
        `${service} ${version} on all of ${environment}: ${object} rolled out, ${d.status?.availableReplicas ?? 0} replica(s) available; ${ran.join(', ')}`,
        images,
      );
    },

    async deployCanary({ service, version, percent, images }, { signal } = {}) {
      const t = target('production');
      const stable = await mustRead(t, service, signal);
      const replicas = canaryReplicas(stable.spec?.replicas ?? 1, percent);
      const pins: string[] = [];
      const object = describeObject('Deployment', t.namespace, service);
      const template = withVersion(stable.spec?.template, version, object, images, pins);
      await apply(t, canaryName(service), () => canaryBody(stable, template, replicas, service), signal);
      await wait(t, canaryName(service), signal);
      return result(
        `${service} ${version} canary: ${describeObject('Deployment', t.namespace, canaryName(service))} ${replicas} replica(s) beside ${stable.spec?.replicas ?? 1} stable${pinSummary(pins)}`,
      );
    },

    async promote({ service, version, images }, { signal } = {}) {
      const t = target('production');
      const object = describeObject('Deployment', t.namespace, service);
      const pins: string[] = [];
      await apply(
        t,
        service,
        (current) => {
          if (!current) throw new DeployRejectedError(`kubernetes: ${object} not found in ${t.where}`);
          pins.length = 0; // recomputed on every attempt
          return {
            spec: {
              replicas: current.spec?.replicas ?? 1,
              template: withVersion(current.spec?.template, version, object, images, pins),
            },
          };
        },
        signal,
      );
      await wait(t, service, signal);
      const removed = await removeCanary(t, service, signal);
      return result(
        `${service} ${version} on all of production: ${object} rolled out${removed ? '; canary removed' : ''}${pinSummary(pins)}`,
      );
    },

    async restore(snapshot, { signal } = {}) {
      if (snapshot.deployer !== 'kubernetes') {
        throw new DeployRejectedError(
          `kubernetes: cannot restore a snapshot taken by the ${snapshot.deployer} deployer`,
        );
      }
      const { service, environment } = snapshot;
      const t = target(environment);
      const done: string[] = [];
      if (snapshot.stable) {
        const stable = snapshot.stable;
        await apply(t, service, () => ({ spec: { replicas: stable.replicas, template: stable.template } }), signal);
        await wait(t, service, signal);
        done.push(`${describeObject('Deployment', t.namespace, service)} back on ${stable.version}`);
      }
      if (snapshot.canary) {
        const canary = snapshot.canary;
        const stable = await mustRead(t, service, signal);
        await apply(
          t,
          canaryName(service),
          () => {
            const body = canaryBody(stable, canary.template as Json, canary.replicas, service);
            return { ...body, spec: { ...body.spec, template: canary.template } }; // the recorded template, verbatim
          },
          signal,
        );
        await wait(t, canaryName(service), signal);
        done.push(`canary back on ${canary.version}`);
      } else if (await removeCanary(t, service, signal)) {
        done.push('canary removed');
      }
      return result(`${service} restored in ${environment}: ${done.join('; ') || 'nothing to restore'}`);
    },
  };
}
