// `helm template <releaseName> <chart> --namespace <ns> -f <values>...` of the commit's tree.
// Each document Helm prints starts with `# Source: <chart name>/<path in the chart>`, which names
// the template that produced it. Helm's config, cache and data homes are private to the render,
// so neither the worker's home nor its repositories and plugins play any part.
import { mkdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { KubernetesSource } from '../../policy/config/environment-source-schema';
import { parseDocuments, toKubernetesObjects } from './manifest-documents';
import type { RenderedObject } from './rendered-object';
import { RenderError } from './render-error';
import { runRenderTool } from './render-tools';
import { requireInTree } from './tree-paths';

type HelmSource = Extract<KubernetesSource, { helm: unknown }>['helm'];

/** `search-service/templates/deployment.yaml` in chart dir `charts/search` -> `charts/search/templates/deployment.yaml`. */
function templateFile(printed: string, chartDir: string): string {
  const inChart = printed.split('/').slice(1).join('/');
  return inChart ? posix.join(chartDir, inChart) : chartDir;
}

/**
 * A hook (a pre-upgrade migration Job, say) runs at a point of a Helm release; Airlock applies
 * objects, not releases, so it would apply the hook as a plain object on every deploy and never
 * in its phase. Refused, naming the template, rather than run at the wrong time or dropped.
 */
function refuseHook(
  object: { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } },
  source: string,
) {
  const hook = object.metadata?.annotations?.['helm.sh/hook'];
  if (hook)
    throw new RenderError(
      'helm',
      source,
      `${object.kind ?? 'object'} ${object.metadata?.name ?? ''} is a Helm hook (helm.sh/hook: ${hook}); Airlock applies the chart's objects, not a Helm release, so hooks never run in their phase: make it a regular object (e.g. a Job whose name carries the chart version), or run it outside Airlock`,
    );
}

/** Helm's environment: the worker's own, with every HELM_* setting replaced by private homes. */
async function helmEnv(scratch: string): Promise<NodeJS.ProcessEnv> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HELM_')));
  const homes = { HELM_CACHE_HOME: 'cache', HELM_CONFIG_HOME: 'config', HELM_DATA_HOME: 'data' };
  for (const [key, dir] of Object.entries(homes)) {
    env[key] = join(scratch, 'helm', dir);
    await mkdir(env[key], { recursive: true });
  }
  return env;
}

export async function renderHelm(
  helm: HelmSource,
  namespace: string,
  tree: { root: string; sha: string; executable: string; signal?: AbortSignal },
): Promise<RenderedObject[]> {
  const { root, sha, executable, signal } = tree;
  await requireInTree(root, helm.chart, 'directory', 'helm', sha);
  for (const values of helm.values) await requireInTree(root, values, 'file', 'helm', sha);
  const args = ['template', helm.releaseName, `./${helm.chart}`, '--namespace', namespace, '--skip-tests'];
  for (const values of helm.values) args.push('--values', `./${values}`);
  const env = await helmEnv(dirname(root));
  const stdout = await runRenderTool('helm', executable, args, { cwd: root, path: helm.chart, env, signal });
  const rendered: RenderedObject[] = [];
  // One chunk per document Helm printed; a template printing several documents gets one chunk each.
  for (const chunk of stdout.split(/^---[ \t]*$/m)) {
    const printed = /^# Source: (.+)$/m.exec(chunk)?.[1].trim();
    const source = printed ? templateFile(printed, helm.chart) : helm.chart;
    for (const object of toKubernetesObjects(parseDocuments(chunk, 'helm', source), 'helm', source)) {
      refuseHook(object, source);
      rendered.push({ object, source });
    }
  }
  return rendered;
}
