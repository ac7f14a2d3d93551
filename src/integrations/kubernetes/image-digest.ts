// Registry digests in the kubelet's report of a running container (`status.containerStatuses[]
// .imageID`) and in image references. Runtimes spell the report differently: containerd and CRI-O
// give "registry/app@sha256:…", Docker (dockershim, cri-dockerd) "docker-pullable://registry/app@sha256:…",
// and an image that never came from a registry (loaded by hand) only its local ID
// ("sha256:…" or "docker://sha256:…"), which names no manifest a registry could serve.
import { imageRepository, imageTag } from './image-ref';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A sha256 manifest digest, the only kind a reference may be pinned to here. */
export const isDigest = (value: string | undefined): value is string => !!value && DIGEST.test(value);

/** What a container status says ran: the repository and manifest digest, or why it says nothing usable. */
export type ReportedImage = { repository: string; digest: string } | { none: string };

export function parseImageId(imageID: string | undefined): ReportedImage {
  if (!imageID) return { none: 'no imageID reported' };
  const bare = imageID.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  if (DIGEST.test(bare)) return { none: `only a local image ID (${bare.slice(0, 19)}…), no registry digest` };
  const at = bare.lastIndexOf('@');
  const digest = at > 0 ? bare.slice(at + 1) : '';
  if (!DIGEST.test(digest)) return { none: `imageID "${imageID.slice(0, 120)}" names no sha256 registry digest` };
  return { repository: imageRepository(bare.slice(0, at)), digest };
}

/** The digest a reference already names ("app:v1@sha256:…" → "sha256:…"), if any. */
export function referenceDigest(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  const digest = at > 0 ? image.slice(at + 1) : '';
  return DIGEST.test(digest) ? digest : undefined;
}

/**
 * The registry's full name of a repository, so that "app", "library/app" and
 * "docker.io/library/app" compare equal (the runtime reports the normalized one).
 */
export function normalizedRepository(repository: string): string {
  const slash = repository.indexOf('/');
  const first = slash < 0 ? '' : repository.slice(0, slash);
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasDomain) return slash < 0 ? `docker.io/library/${repository}` : `docker.io/${repository}`;
  return first === 'index.docker.io' ? `docker.io${repository.slice(slash)}` : repository;
}

/** `reference` fixed to `digest`, keeping its tag for readers: "app:v2" → "app:v2@sha256:…". */
export function pinnedReference(reference: string, digest: string): string {
  if (referenceDigest(reference)) return reference;
  const tag = imageTag(reference);
  return `${imageRepository(reference)}${tag ? `:${tag}` : ''}@${digest}`;
}
