// What a rolled-out workload actually runs, per image reference: the digests its pods' kubelets
// report (status.containerStatuses[].imageID). A tag names whatever was pushed last; the digest is
// what baked, and what production must receive a day later.
//
// Pods that disagree on a reference's digest mean the tag resolved to two images in one rollout
// (it was re-pushed meanwhile, or a node ran a stale cached copy): staging did not run one image,
// so no single digest is the baked one and the tag may name a third. The deploy fails (rolled
// back) rather than bake a mix: deploy a version that names a digest, or a tag nobody re-pushes.
import type { KubeConfig } from '@kubernetes/client-node';
import type { StagedImage } from '../deployer';
import { DeployRejectedError } from '../deployer';
import { normalizedRepository, parseImageId, referenceDigest } from './image-digest';
import { imageRepository } from './image-ref';
import { withRetry, type RetryOptions } from './kubernetes-errors';
import { sendRawJson } from './kubernetes-raw';

/** The parts of a pod the reading needs (the API server's JSON). */
export interface PodJson {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { containers?: { name: string; image?: string }[] };
  status?: { containerStatuses?: { name: string; imageID?: string }[] };
}

const short = (digest: string) => `${digest.slice(0, 19)}…`;

/**
 * For each reference of `containers` (as the deploy set them), the digest every live pod running
 * it reports; throws DeployRejectedError when the pods report different digests.
 */
export function stagedImages(
  containers: { name: string; image: string }[],
  pods: PodJson[],
  object: string,
): StagedImage[] {
  const byReference = new Map<string, string[]>();
  for (const c of containers) byReference.set(c.image, [...(byReference.get(c.image) ?? []), c.name]);
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  return [...byReference].map(([reference, names]) => {
    const named = referenceDigest(reference);
    if (named) return { reference, containers: names, digest: named };
    const digests = new Map<string, number>();
    const silent: string[] = [];
    let running = 0;
    for (const pod of live) {
      for (const name of names) {
        if (pod.spec?.containers?.find((c) => c.name === name)?.image !== reference) continue;
        running++;
        const reported = parseImageId(pod.status?.containerStatuses?.find((s) => s.name === name)?.imageID);
        if ('none' in reported) silent.push(reported.none);
        else if (normalizedRepository(reported.repository) !== normalizedRepository(imageRepository(reference)))
          silent.push(`the runtime reported a digest of another repository (${reported.repository})`);
        else digests.set(reported.digest, (digests.get(reported.digest) ?? 0) + 1);
      }
    }
    if (digests.size > 1) {
      const seen = [...digests].map(([d, n]) => `${short(d)} on ${n}`).join(', ');
      throw new DeployRejectedError(
        `kubernetes: ${object}: pods of ${reference} run ${digests.size} different images (${seen}): the tag moved during the rollout, so no one image was staged; deploy a version that names a digest`,
      );
    }
    if (!running) return { reference, containers: names, unpinned: 'no running pod of it to ask' };
    if (silent.length)
      return {
        reference,
        containers: names,
        unpinned: `${silent.length} of ${running} container(s) reported no registry digest: ${silent[0]}`,
      };
    return { reference, containers: names, digest: [...digests.keys()][0] };
  });
}

/** The pods of a workload in `namespace` (its selector's matchLabels), as the API server has them. */
export async function listWorkloadPods(
  kc: KubeConfig,
  namespace: string,
  matchLabels: Record<string, string> | undefined,
  what: string,
  o: { signal?: AbortSignal; retry?: RetryOptions } = {},
): Promise<PodJson[]> {
  const labelSelector = Object.entries(matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await withRetry(
    'list',
    `pods of ${what}`,
    (signal) =>
      sendRawJson<{ items?: PodJson[] }>(kc, {
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        query: { labelSelector },
        signal,
      }),
    o.retry,
    o.signal,
  );
  return pods.items ?? [];
}
