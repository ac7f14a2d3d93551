// Where a service's desired state lives per environment (`services[].environments`): how its
// Kubernetes objects are rendered from the repo (kustomize overlay, Helm chart, plain manifests, or
// image-tag mode) and which Terraform roots it plans. Pure: no I/O, so workflow code may import types.
import { z } from 'zod';

/** A repo-relative path: read from the merge commit's tree, so it may not leave the repo. */
function repoPath(what: 'directory' | 'file') {
  return z
    .string()
    .trim()
    .min(1, `must name a repo-relative ${what}`)
    .superRefine((path, ctx) => {
      const fail = (why: string) => ctx.addIssue({ code: 'custom', message: `"${path}" ${why}` });
      if (path.startsWith('/') || /^[A-Za-z]:/.test(path))
        return fail('is absolute; paths are relative to the repo root');
      if (path.includes('\\')) return fail('contains a backslash; use / between path segments');
      if (path.includes('\0')) return fail('contains a NUL byte');
      if (path.split('/').includes('..')) return fail('contains ".."; paths may not leave the repo');
      if (path.startsWith('-')) return fail('starts with "-", which kustomize or helm would read as an option');
    })
    .transform((path) => path.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.');
}

const repoDir = repoPath('directory');
const repoFile = repoPath('file');

// Helm's own rule for release names (DNS-1123 subdomain, at most 53 characters).
const releaseName = z
  .string()
  .max(53, 'a Helm release name has at most 53 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a Helm release name (lower-case letters, digits, "-" and ".")',
  );

const helmSourceSchema = z
  .object({
    chart: repoDir,
    /** Repo-relative values files, passed to `helm template -f` in this order (later ones win). */
    values: z.array(repoFile).default([]),
    releaseName,
  })
  .strict();

const KUBERNETES_SOURCE_KINDS = ['kustomize', 'helm', 'manifests', 'image'] as const;

const kubernetesSourceFields = z
  .object({
    /** A kustomization directory: `kustomize build <dir>`. */
    kustomize: repoDir.optional(),
    helm: helmSourceSchema.optional(),
    /** A directory of *.yaml / *.yml / *.json manifests, read as they are. */
    manifests: repoDir.optional(),
    /** Image-tag mode (Airlock's original behaviour): the deployer sets container images to the change's version. */
    image: z.object({}).strict().optional(),
  })
  .strict();

export type KubernetesSource =
  | { kustomize: string }
  | { helm: z.infer<typeof helmSourceSchema> }
  | { manifests: string }
  | { image: Record<string, never> };

export const kubernetesSourceSchema = kubernetesSourceFields
  .superRefine((source, ctx) => {
    const given = KUBERNETES_SOURCE_KINDS.filter((k) => source[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? `must say how the objects are rendered: exactly one of ${KUBERNETES_SOURCE_KINDS.join(', ')}`
            : `gives ${given.join(' and ')}; exactly one of ${KUBERNETES_SOURCE_KINDS.join(', ')} is allowed`,
      });
    }
  })
  .transform((source) => {
    const kind = KUBERNETES_SOURCE_KINDS.find((k) => source[k] !== undefined)!;
    return { [kind]: source[kind] } as KubernetesSource;
  });

// Terraform workspace names: what `terraform workspace new` accepts in practice.
const workspace = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,89}$/, 'must be a Terraform workspace name (letters, digits, "-", "_", ".")');

export const terraformSourceSchema = z
  .object({
    /** The root module directory that is planned and applied. */
    dir: repoDir,
    workspace: workspace.optional(),
    /** Repo-relative `-var-file`s, in this order. */
    varFiles: z.array(repoFile).default([]),
    /**
     * Production only: let the apply destroy or replace resources. Without it a production plan
     * that destroys or replaces anything is refused before anything is applied.
     */
    allowDestroy: z.boolean().default(false),
  })
  .strict();

export type TerraformSource = z.infer<typeof terraformSourceSchema>;

const rootKey = (r: TerraformSource) => `${r.dir}${r.workspace ? ` (workspace ${r.workspace})` : ''}`;

const terraformRootListSchema = z.array(terraformSourceSchema).min(1, 'must list at least one root');

/**
 * One root or a list of them, always a list once parsed; applied in this order, restored in reverse.
 * Chosen by shape rather than z.union, whose error would name neither form's field.
 */
const terraformRootsSchema = z
  .unknown()
  .transform((given, ctx): TerraformSource[] => {
    const parsed = Array.isArray(given)
      ? terraformRootListSchema.safeParse(given)
      : terraformSourceSchema.transform((r) => [r]).safeParse(given);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  })
  .superRefine((roots, ctx) => {
    // Two entries for one root and workspace would share one state: the second apply undoes the first.
    const seen = new Set<string>();
    roots.forEach((r, i) => {
      if (seen.has(rootKey(r)))
        ctx.addIssue({ code: 'custom', path: [i, 'dir'], message: `${rootKey(r)} is listed twice` });
      seen.add(rootKey(r));
    });
  });

export const environmentSourceSchema = z
  .object({
    kubernetes: kubernetesSourceSchema.optional(),
    terraform: terraformRootsSchema.optional(),
  })
  .strict()
  .refine((s) => s.kubernetes !== undefined || s.terraform !== undefined, {
    message: 'must give kubernetes, terraform or both',
  });

export type EnvironmentSource = z.infer<typeof environmentSourceSchema>;

export const environmentsSchema = z
  .object({
    staging: environmentSourceSchema.optional(),
    production: environmentSourceSchema.optional(),
  })
  .strict()
  .superRefine((envs, ctx) => {
    // Staging may always destroy (it is where a destroy is found out); a flag there would read as a
    // permission that production has not got.
    // (Refinements run on a partly invalid object too: the roots may not have parsed into a list.)
    const roots = Array.isArray(envs.staging?.terraform) ? envs.staging.terraform : [];
    roots.forEach((r, i) => {
      if (r.allowDestroy)
        ctx.addIssue({
          code: 'custom',
          path: ['staging', 'terraform', ...(roots.length > 1 ? [i] : []), 'allowDestroy'],
          message: 'only applies to production: staging plans may always destroy or replace',
        });
    });
    // Half a configuration would promote a rendered staging and an image-tag production (or the
    // reverse): what staging baked would not be what production gets.
    for (const [given, missing] of [
      ['staging', 'production'],
      ['production', 'staging'],
    ] as const) {
      if (envs[given] && !envs[missing]) {
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: `is missing while ${given} is given; say how ${missing} is rendered too ({ kubernetes: { image: {} } } for image-tag mode)`,
        });
      }
    }
  });

/** Image-tag mode: what a service without `environments` gets (the behaviour before sources existed). */
export const IMAGE_MODE: EnvironmentSource = { kubernetes: { image: {} } };

/** The source of `environment` for a service; image-tag mode when the policy gives none. */
export function environmentSource(
  service: { environments?: z.infer<typeof environmentsSchema> },
  environment: 'staging' | 'production',
): EnvironmentSource {
  return service.environments?.[environment] ?? IMAGE_MODE;
}
