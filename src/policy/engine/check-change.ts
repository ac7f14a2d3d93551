// The policy engine: a change (two trees) and the policy in, findings out. Pure apart from reading
// the trees it is given; no Temporal, so the activity, the CLI and CI all run this same function.
import { isDeepStrictEqual } from 'node:util';
import { candidatePaths, diffTrees, type ChangeTrees, type ChangedFile } from './change-files';
import { checkLimits } from './change-limits';
import { deployableFiles } from './deployable-files';
import { detectImageOnly } from './image-only';
import { diffObjects } from './object-changes';
import { serviceMatcher, type CheckContext, type ParsedManifests, type Rule } from './check-context';
import type { Finding } from './finding';
import { buildKustomizeBases, isKustomizationPath } from './kustomize-bases';
import { isYamlPath, parseManifestFile, type ManifestDoc } from './manifest';
import { changeSizeRule } from './rules/change-size';
import { imageOnlyRule } from './rules/image-only';
import { forbiddenPathRule } from './rules/forbidden-path';
import { livenessProbeRule } from './rules/liveness-probe';
import { memoryRule } from './rules/memory';
import { plannedOperationRule } from './rules/planned-operation';
import { reachRule } from './rules/reach';
import { replicasRule } from './rules/replicas';
import { sensitiveRule } from './rules/sensitive';
import { vacuousRule } from './rules/vacuous';
import type { Policy } from '../config/schema';
import { isTerraformPath, parseTerraformFile, terraformTokens, type TerraformJson } from './terraform-file';
import { buildTerraformModules } from './terraform-modules';

export const RULES: Rule[] = [
  forbiddenPathRule,
  reachRule,
  livenessProbeRule,
  memoryRule,
  replicasRule,
  vacuousRule,
  plannedOperationRule,
  sensitiveRule,
  changeSizeRule,
  imageOnlyRule,
];

export interface CheckOptions {
  /** When the check runs; planned-operation windows are evaluated at this instant. */
  now?: Date;
  /** Repository paths forbidden on top of the policy (e.g. where the policy file itself lives). */
  protectedPaths?: string[];
  /** The service the promotion deploys; files of another service then block. */
  service?: string;
  /** The rules to run (default RULES): rendered objects are judged by the object rules only. */
  rules?: Rule[];
  /** Which declared services a path belongs to (default: the policy's path globs). */
  servicesOf?: (path: string) => string[];
}

function unparseable(path: string, reason: string, line?: number, base?: 'broken' | 'parsed'): Finding {
  const consumer = isTerraformPath(path) ? 'Terraform' : 'Kubernetes';
  const already =
    base === 'broken'
      ? '. It did not parse at the base either: it was already broken before this change (which does not fix it)'
      : '';
  return {
    rule: 'unparseable',
    level: 'block',
    file: path,
    ...(line !== undefined ? { line } : {}),
    message: `${path} does not parse (${reason}); ${consumer} would reject it too, and Airlock cannot check what it cannot read${already}`,
  };
}

// Helm chart templates are Go templates, not YAML, until rendered.
function isHelmTemplate(path: string, text: string): boolean {
  return /(^|\/)templates\//.test(path) && text.includes('{{');
}

function parseManifests(changed: ChangedFile[], findings: Finding[]): ParsedManifests[] {
  const out: ParsedManifests[] = [];
  for (const file of changed) {
    if (!isYamlPath(file.path)) continue;
    if (file.after !== undefined && isHelmTemplate(file.path, file.after)) {
      findings.push({
        rule: 'unchecked-template',
        level: 'warn',
        file: file.path,
        message: `${file.path} is a Helm template; its rendered manifests were not checked (probes, memory, replicas), so approvers must read it themselves`,
      });
      continue;
    }
    const before = file.before !== undefined ? parseManifestFile(file.path, file.before) : undefined;
    let after: ManifestDoc[] = [];
    if (file.after !== undefined) {
      const parsed = parseManifestFile(file.path, file.after);
      if (!parsed.ok) {
        findings.push(unparseable(file.path, parsed.reason, parsed.line, before && (before.ok ? 'parsed' : 'broken')));
        continue;
      }
      after = parsed.docs;
    }
    out.push({
      file,
      before: before?.ok ? before.docs : [],
      after,
      // Never read as empty: its objects would all look new (all their memory "added").
      ...(before && !before.ok ? { baseUnparseable: { reason: before.reason, line: before.line } } : {}),
    });
  }
  return out;
}

/** A file fixed by the change: what it held before is unknown, so its objects are not compared. */
function uncomparedFinding(m: ParsedManifests): Finding[] {
  if (!m.baseUnparseable || !m.after.length) return [];
  const { reason, line } = m.baseUnparseable;
  const objects = m.after.map((d) => `${d.kind ?? 'document'} ${d.name ?? `#${d.index}`}`).join(', ');
  return [
    {
      rule: 'base-unparseable',
      level: 'warn',
      file: m.file.path,
      message:
        `${m.file.path} did not parse at the base (${reason}${line !== undefined ? `, line ${line}` : ''}), so its objects (${objects}) could not be compared with what was there before: ` +
        `memory-increase, memory-capacity and planned-operation did not judge them, and the other rules judged them as new. Approvers must read the whole file`,
    },
  ];
}

/** Whether two versions of a Terraform file hold the same tokens; undefined when tokens cannot tell. */
function sameTokens(before: string, after: string): boolean | undefined {
  const a = terraformTokens(before);
  const b = terraformTokens(after);
  return a && b ? a.length === b.length && a.every((t, i) => t === b[i]) : undefined;
}

/** Unchanged Terraform and kustomization files too large to read: what reaches through them is not known. */
function oversizeGraphFiles(trees: ChangeTrees, paths: string[], max: number): Finding[] {
  return paths
    .filter((p) => (trees.head.size?.(p) ?? 0) > max)
    .map((p) => ({
      rule: 'unread-graph-file',
      level: 'warn' as const,
      file: p,
      message: `${p} (unchanged) is larger than checks.maxFileBytes and was not read: what reaches production through it was not checked`,
    }));
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export async function checkChange(policy: Policy, trees: ChangeTrees, options: CheckOptions = {}): Promise<Finding[]> {
  const limits = checkLimits(trees, candidatePaths(trees), policy.checks);
  const findings: Finding[] = [...limits.findings];
  if (limits.tooLarge) return sortFindings(findings);
  const changed = await diffTrees(trees, { skip: limits.unread });
  const changedByPath = new Map(changed.map((f) => [f.path, f]));
  const manifests = parseManifests(changed, findings);

  // Graph files of the whole head tree (unchanged ones read now), plus deleted ones as they were.
  // The Terraform graph costs an HCL parse per file, so it is built only when the change touches a
  // directory that holds Terraform files (otherwise nothing can reach through it).
  const headPaths = trees.head.paths();
  const terraformDirs = new Set([...headPaths, ...trees.base.paths()].filter(isTerraformPath).map(dirOf));
  const needsTerraform = changed.some((f) => terraformDirs.has(dirOf(f.path)));
  const graphPaths = headPaths.filter(
    (p) => ((needsTerraform && isTerraformPath(p)) || isKustomizationPath(p)) && !changedByPath.has(p),
  );
  findings.push(...oversizeGraphFiles(trees, graphPaths, policy.checks.maxFileBytes));
  const unchanged = await trees.head.read(
    graphPaths.filter((p) => (trees.head.size?.(p) ?? 0) <= policy.checks.maxFileBytes),
  );

  const terraform: CheckContext['terraform'] = [];
  const modules: [string, TerraformJson][] = [];
  for (const [path, text] of unchanged) {
    if (!isTerraformPath(path)) continue;
    const parsed = await parseTerraformFile(path, text);
    if (parsed.ok) modules.push([path, parsed.json]);
  }
  // Terraform files whose parsed content changed (or that do not parse): what deploys.
  const terraformAltered = new Set<string>();
  // HCL parsing is the costliest step: the old version is parsed only once the file is gone (for its
  // uses), when the new one does not parse (was it broken already?) or when tokens cannot tell a
  // comment-only or formatting edit from a content one (a heredoc).
  const terraformFiles = changed.filter((f) => isTerraformPath(f.path));
  const afters = await Promise.all(
    terraformFiles.map((f) =>
      f.after === undefined ? Promise.resolve(undefined) : parseTerraformFile(f.path, f.after),
    ),
  );
  for (const [i, file] of terraformFiles.entries()) {
    const after = afters[i];
    const tokens = file.status === 'modified' && after?.ok ? sameTokens(file.before!, file.after!) : undefined;
    const before =
      file.before !== undefined && tokens === undefined ? await parseTerraformFile(file.path, file.before) : undefined;
    if (after && !after.ok)
      findings.push(unparseable(file.path, after.reason, after.line, before && (before.ok ? 'parsed' : 'broken')));
    const same = tokens ?? (after?.ok && before?.ok && isDeepStrictEqual(after.json, before.json));
    if (!same) terraformAltered.add(file.path);
    // A use the change removes from an existing file is a change to that file, judged on its own path.
    const old = file.status === 'deleted' && before?.ok ? before.json : undefined;
    const entry = { file, before: old, after: after?.ok ? after.json : undefined, altered: !same };
    terraform.push(entry);
    if (entry.after) modules.push([file.path, entry.after]);
    if (entry.before) modules.push([file.path, entry.before]);
  }

  const kustomizations: [string, ManifestDoc[]][] = [];
  for (const [path, text] of unchanged) {
    if (!isKustomizationPath(path)) continue;
    const parsed = parseManifestFile(path, text);
    if (parsed.ok) kustomizations.push([path, parsed.docs]);
  }
  for (const m of manifests) {
    if (isKustomizationPath(m.file.path)) kustomizations.push([m.file.path, [...m.after, ...m.before]]);
  }
  const allPaths = new Set([...headPaths, ...trees.base.paths()]);

  const objects = diffObjects(manifests);
  findings.push(...manifests.flatMap(uncomparedFinding));
  const deployable = deployableFiles({ changed, manifests, objects, terraform: terraformAltered, allPaths });
  const imageOnly = detectImageOnly(objects, deployable);
  const ctx: CheckContext = {
    policy,
    checks: policy.checks,
    changed,
    manifests,
    objects,
    deployable,
    ...(imageOnly ? { imageOnly } : {}),
    trees,
    terraform,
    terraformModules: buildTerraformModules(modules),
    kustomizeBases: buildKustomizeBases(kustomizations, allPaths),
    now: options.now ?? new Date(),
    protectedPaths: options.protectedPaths ?? [],
    ...(options.service ? { service: options.service } : {}),
    servicesOf: options.servicesOf ?? serviceMatcher(policy),
  };
  for (const rule of options.rules ?? RULES) findings.push(...(await rule(ctx)));
  return sortFindings(findings);
}

/** Blocks first, then by file and line: the order an on-call engineer reads them in. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      (a.level === b.level ? 0 : a.level === 'block' ? -1 : 1) ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0),
  );
}
