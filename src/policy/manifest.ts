// Kubernetes manifests: every document of a YAML file, parsed with the yaml library, with the
// line of any field so a finding can point at it.
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

export function parseManifestFile(file: string, text: string): ManifestParse {
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true }) as Document.Parsed[];
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split('\n')[0] };
  }
  if (!Array.isArray(docs)) return { ok: true, docs: [] };
  const out: ManifestDoc[] = [];
  for (const [index, doc] of docs.entries()) {
    const error = doc.errors[0];
    if (error) {
      const line = lineCounter.linePos(error.pos[0]).line;
      return { ok: false, reason: `YAML: ${error.message.split('\n')[0].replace(/:$/, '')}`, line };
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      return { ok: false, reason: `YAML: ${(err as Error).message.split('\n')[0]}` };
    }
    if (value === null || value === undefined) continue; // an empty document between `---`
    const top = record(value);
    const metadata = record(top?.metadata);
    out.push({
      file,
      index,
      value,
      kind: str(top?.kind),
      name: str(metadata?.name),
      namespace: str(metadata?.namespace),
      line(path) {
        for (let n = path.length; n >= 0; n--) {
          const node = doc.getIn(path.slice(0, n), true);
          if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
        }
        return undefined;
      },
    });
  }
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
