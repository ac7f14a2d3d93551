// What production will receive, in words, for every approver view (status, Slack): for each image
// reference staging ran, the digest it is pinned to, or a warning that only a mutable tag was
// available and production may receive an image that never baked.
import type { StagedImage } from '../workflows/messages';

export function stagedImageLines(images: StagedImage[] | undefined): { pinned: string[]; mutable: string[] } {
  const pinned: string[] = [];
  const mutable: string[] = [];
  for (const i of images ?? []) {
    if (i.digest) pinned.push(`${i.reference} pinned to digest ${i.digest} from staging`);
    else
      mutable.push(
        `only the mutable tag ${i.reference} was available (${i.unpinned ?? 'no digest reported'}): production may receive a different image than staging ran`,
      );
  }
  return { pinned, mutable };
}
