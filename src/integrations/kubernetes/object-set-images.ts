// Digest pinning for services rendered from the repository (object sets): what the staged
// workloads' pods run is read after the staging apply (staged-images.ts), and the production
// render's containers of exactly those references are rewritten to `reference@digest` before the
// preview, the canary and the rollout, so the diff approvers sign shows the digest production gets.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { StagedImage } from '../deployer';
import { DeployRejectedError } from '../deployer';
import type { RetryOptions } from './kubernetes-errors';
import { isDigest, pinnedReference } from './image-digest';
import { describeId, idOf } from './object-set';
import { listWorkloadPods, stagedImages } from './staged-images';

/** Kinds whose pods run the render's images, read through their selector's matchLabels. */
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

interface WorkloadJson {
  kind?: string;
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { spec?: { containers?: { name: string; image?: string }[] } };
  };
}

/** The render with every container of a reference staging ran at one digest pinned to it. */
export function pinObjectImages(
  objects: KubernetesObject[],
  images: StagedImage[] | undefined,
): { objects: KubernetesObject[]; pins: string[] } {
  if (!images?.length) return { objects, pins: [] };
  const pins: string[] = [];
  const pinned = objects.map((object) => {
    const w = object as WorkloadJson;
    if (!WORKLOADS.has(w.kind ?? '') || !w.spec?.template?.spec?.containers) return object;
    const copy = structuredClone(object) as KubernetesObject & WorkloadJson;
    for (const c of copy.spec!.template!.spec!.containers!) {
      const digest = images.find((i) => i.reference === c.image)?.digest;
      if (!c.image || !isDigest(digest)) continue;
      c.image = pinnedReference(c.image, digest);
      pins.push(`${describeId(idOf(object))} ${c.name} at staging's digest ${digest.slice(0, 19)}…`);
    }
    return copy;
  });
  return { objects: pinned, pins };
}

/** What the applied workloads of `desired` run, per image reference; refused when pods disagree. */
export async function readObjectSetImages(
  kc: KubeConfig,
  namespace: string,
  desired: KubernetesObject[],
  o: { signal?: AbortSignal; retry?: RetryOptions } = {},
): Promise<StagedImage[]> {
  const found = new Map<string, StagedImage>();
  for (const object of desired) {
    const w = object as WorkloadJson;
    const containers = w.spec?.template?.spec?.containers;
    if (!WORKLOADS.has(w.kind ?? '') || !containers?.length) continue;
    const what = describeId(idOf(object, namespace));
    const pods = await listWorkloadPods(kc, namespace, w.spec?.selector?.matchLabels, what, o);
    const images = stagedImages(
      containers.map((c) => ({ name: c.name, image: c.image ?? '' })),
      pods,
      what,
    );
    for (const image of images) {
      const seen = found.get(image.reference);
      if (seen?.digest && image.digest && seen.digest !== image.digest)
        throw new DeployRejectedError(
          `kubernetes: ${image.reference} runs as ${seen.digest.slice(0, 19)}… in one workload and ${image.digest.slice(0, 19)}… in ${what}: the tag moved during the rollout, so no one image was staged`,
        );
      // A reference one workload could not pin is not pinned at all: production would run a mix.
      if (!seen || (seen.digest && !image.digest))
        found.set(image.reference, { ...image, containers: [...(seen?.containers ?? []), ...image.containers] });
      else found.set(image.reference, { ...seen, containers: [...seen.containers, ...image.containers] });
    }
  }
  return [...found.values()];
}
