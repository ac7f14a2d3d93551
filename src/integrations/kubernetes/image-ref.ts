// A change's version applied to a container image reference: a bare tag ("v2", a commit SHA)
// replaces the image's tag or digest; a full reference ("registry/app:v2", "app@sha256:…") is used as is.

/** True when `version` is itself an image reference rather than a tag. */
function isImageReference(version: string): boolean {
  return version.includes('/') || version.includes(':') || version.includes('@');
}

/** The repository part of an image: "host:5000/team/app:v1@sha256:…" → "host:5000/team/app". */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The tag of an image, if it has one ("app:v1" → "v1"; "app@sha256:…" → undefined). */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const repo = imageRepository(image);
  return noDigest.length > repo.length ? noDigest.slice(repo.length + 1) : undefined;
}

export function imageWithVersion(image: string, version: string): string {
  return isImageReference(version) ? version : `${imageRepository(image)}:${version}`;
}

// The OCI distribution grammar of a tag; a reference is checked loosely (no whitespace, one
// repository) since the registry, not Airlock, is the authority on its parts.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REFERENCE = /^[a-z0-9][a-z0-9._\-/:]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** Why `version` cannot name an image, or undefined when it can. */
export function invalidVersion(version: string): string | undefined {
  if (isImageReference(version)) return REFERENCE.test(version) ? undefined : `"${version}" is not an image reference`;
  return TAG.test(version)
    ? undefined
    : `"${version}" is not an image tag (letters, digits, _ . -, at most 128, not starting with . or -)`;
}
