// Kubernetes manifests: every document of a YAML file, with the line of any field so a finding can
// point at it. Values come from js-yaml (fast: a 1,000-file change is 10 MB of YAML); lines come from
// the yaml library's source positions, parsed only when a finding asks for one.
import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { isNode, LineCounter, parseAllDocuments, type Document } from 'yaml';

export type FieldPath = readonly (string | number)[];

export interface ManifestDoc {
  file: string;
  /** Index of the document in a multi-document file (0-based). */
  index: number;
  value: unknown;
  kind?: string;
  name?: string;
  namespace?: string;
  /** 1-based line of the field, or of its nearest existing parent. */
  line(path: FieldPath): number | undefined;
  /**
   * 1-based line of the mapping or list at `path` (a container, a pod spec), or of its nearest
   * parent. Free (recorded while parsing), unlike `line`: for rules that may point at every
   * workload of a large change.
   */
  objectLine(path: FieldPath): number | undefined;
}

export type ManifestParse = { ok: true; docs: ManifestDoc[] } | { ok: false; reason: string; line?: number };

export function isYamlPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Source positions of a file's documents, built on first use and kept for the file's other findings. */
function createLineFinder(text: string): (index: number, path: FieldPath) => number | undefined {
  let parsed: { docs: Document.Parsed[]; lines: LineCounter } | undefined;
  return (index, path) => {
    if (!parsed) {
      const lines = new LineCounter();
      parsed = { docs: parseAllDocuments(text, { lineCounter: lines }) as Document.Parsed[], lines };
      if (!Array.isArray(parsed.docs)) parsed.docs = [];
    }
    const doc = parsed.docs[index];
    if (!doc) return undefined;
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return parsed.lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/**
 * Records, during the one js-yaml pass, the line where each mapping and list opened (a Map keyed
 * by the parsed node itself), so a rule can point at every workload of a large change for free.
 */
function objectLineRecorder() {
  const lines = new Map<unknown, number>();
  const opened: number[] = [];
  const recorder = {
    lines,
    /** Mappings and lists reached a second time: an alias (js-yaml shares the anchored object). */
    aliases: 0,
    listener(event: 'open' | 'close', state: { line: number; result: unknown }) {
      if (event === 'open') return void opened.push(state.line);
      const line = opened.pop();
      const node = state.result;
      if (line === undefined || node === null || typeof node !== 'object') return;
      if (lines.has(node)) recorder.aliases++;
      else lines.set(node, line + 1);
    },
  };
  return recorder;
}

/**
 * The yaml library's resource-exhaustion guard (its default): an alias may stand for at most this
 * many expanded aliases. A 1 KB tree of aliases (the "billion laughs") expands exponentially with
 * depth; anything that walks it whole (a comparison, a stringify) would block the worker.
 */
export const MAX_ALIAS_COUNT = 100;

/** The reason a file's aliases are refused, or undefined. Only files that alias a mapping or list get here. */
function excessiveAliases(text: string): string | undefined {
  for (const doc of parseAllDocuments(text)) {
    try {
      // Resolves aliases by reference (nothing is expanded) and throws once the count is exceeded.
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      return `YAML: too many aliases (more than ${MAX_ALIAS_COUNT} expanded aliases: an alias bomb that would expand exponentially): ${err.message}`;
    }
  }
  return undefined;
}

export function parseManifestFile(file: string, text: string): ManifestParse {
  let values: unknown[];
  const objects = objectLineRecorder();
  try {
    // YAML 1.2 core types, as the yaml library reads them: no dates, no `yes` booleans. Duplicate keys fail.
    values = loadAll(text, undefined, { schema: CORE_SCHEMA, filename: file, listener: objects.listener });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    return { ok: false, reason: `YAML: ${err.reason}`, ...(err.mark ? { line: err.mark.line + 1 } : {}) };
  }
  const bomb = objects.aliases ? excessiveAliases(text) : undefined;
  if (bomb) return { ok: false, reason: bomb };
  const lineOf = createLineFinder(text);
  const out: ManifestDoc[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return; // an empty document between `---`
    const top = record(value);
    const metadata = record(top?.metadata);
    out.push({
      file,
      index,
      value,
      kind: str(top?.kind),
      name: str(metadata?.name),
      namespace: str(metadata?.namespace),
      line: (path) => lineOf(index, path),
      objectLine: (path) => {
        for (let n = path.length; n >= 0; n--) {
          const line = objects.lines.get(getIn(value, path.slice(0, n)));
          if (line !== undefined) return line;
        }
        return undefined;
      },
    });
  });
  return { ok: true, docs: out };
}

/** Reads a nested field of plain parsed YAML. */
export function getIn(value: unknown, path: FieldPath): unknown {
  let at: unknown = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[key];
  }
  return at;
}
