// What every rule sees: the policy, the changed files with their parsed manifests and objects, both trees.
import picomatch from 'picomatch';
import type { ChangedFile, ChangeTrees } from './change-files';
import type { ChecksPolicy } from '../config/checks-schema';
import type { Finding } from './finding';
import type { ImageOnlyChange } from './image-only';
import type { ManifestDoc } from './manifest';
import type { ObjectChange } from './object-changes';
import type { KustomizeBases } from './kustomize-bases';
import type { Policy } from '../config/schema';
import type { TerraformJson } from './terraform-file';
import type { TerraformModules } from './terraform-modules';

export interface ParsedManifests {
  file: ChangedFile;
  /** Documents before the change; empty when added or when the old version did not parse (baseUnparseable). */
  before: ManifestDoc[];
  /** Documents after the change; empty when deleted. */
  after: ManifestDoc[];
  /** The old version did not parse: its objects cannot be compared (object-changes.ts: uncompared). */
  baseUnparseable?: { reason: string; line?: number };
}

export interface CheckContext {
  policy: Policy;
  checks: ChecksPolicy;
  changed: ChangedFile[];
  /** YAML files of the change whose new version parsed (unparseable ones are findings already). */
  manifests: ParsedManifests[];
  /** Every object of those files matched across all of them (object-changes.ts): what rules judge. */
  objects: ObjectChange[];
  /** Changed files whose parsed deployable content changed (deployable-files.ts): what size limits count. */
  deployable: string[];
  /** Set when the only effect of the change is image references (image-only.ts). */
  imageOnly?: ImageOnlyChange;
  trees: ChangeTrees;
  /**
   * Terraform files of the change: after when it parsed, before only when deleted; altered unless
   * both versions parsed to the same JSON (a comment-only or formatting edit).
   */
  terraform: { file: ChangedFile; before?: TerraformJson; after?: TerraformJson; altered: boolean }[];
  /** Module graph of both trees (a use that the change removes still counts). */
  terraformModules: TerraformModules;
  kustomizeBases: KustomizeBases;
  now: Date;
  /** The service the promotion deploys, when known (the workflow's change.service). */
  service?: string;
  /** Repository paths always forbidden on top of the policy's globs (e.g. the policy file itself). */
  protectedPaths: string[];
  /** Names of the declared services whose path globs match. */
  servicesOf(path: string): string[];
}

export type Rule = (ctx: CheckContext) => Finding[] | Promise<Finding[]>;

export const GLOB_OPTIONS = { dot: true } as const;

/**
 * A path glob matcher for repository paths. Git allows line breaks in file names, and picomatch's
 * `*` never matches one, so the default secrets glob would miss `config/secrets/a<LF>b`: they are matched as
 * spaces, which every `*` matches.
 */
export function pathGlob(globs: string | readonly string[]): (path: string) => boolean {
  const match = picomatch(globs as string | string[], GLOB_OPTIONS);
  return (path) => match(path.replace(/[\n\r\u2028\u2029]/g, ' '));
}

export function serviceMatcher(policy: Policy): (path: string) => string[] {
  const matchers = policy.services.map((s) => ({ name: s.name, match: pathGlob(s.paths) }));
  return (path) => matchers.filter((m) => m.match(path)).map((m) => m.name);
}
