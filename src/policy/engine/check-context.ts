// What every rule sees: the policy, the changed files with their parsed manifests, both trees.
import picomatch from 'picomatch';
import type { ChangedFile, ChangeTrees } from './change-files';
import type { ChecksPolicy } from '../config/checks-schema';
import type { Finding } from './finding';
import type { ManifestDoc } from './manifest';
import type { KustomizeBases } from './kustomize-bases';
import type { Policy } from '../config/schema';
import type { TerraformJson } from './terraform-file';
import type { TerraformModules } from './terraform-modules';

export interface ParsedManifests {
  file: ChangedFile;
  /** Documents before the change; empty when added or when the old version did not parse. */
  before: ManifestDoc[];
  /** Documents after the change; empty when deleted. */
  after: ManifestDoc[];
}

export interface CheckContext {
  policy: Policy;
  checks: ChecksPolicy;
  changed: ChangedFile[];
  /** YAML files of the change whose new version parsed (unparseable ones are findings already). */
  manifests: ParsedManifests[];
  trees: ChangeTrees;
  /** Terraform files of the change that parsed, before and after. */
  terraform: { file: ChangedFile; before?: TerraformJson; after?: TerraformJson }[];
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

export function serviceMatcher(policy: Policy): (path: string) => string[] {
  const matchers = policy.services.map((s) => ({ name: s.name, match: picomatch(s.paths, GLOB_OPTIONS) }));
  return (path) => matchers.filter((m) => m.match(path)).map((m) => m.name);
}
