// Tool output and manifest files to Kubernetes objects: multi-document YAML (or JSON) parsed with
// the `yaml` library, `List` kinds flattened, every object checked for the fields an apply needs.
// Each refusal names the tool, the file and the document.
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject } from './rendered-object';
import { RenderError } from './render-error';

// Enough for any real manifest; a YAML alias bomb stops here instead of filling the worker's memory.
const MAX_ALIAS_COUNT = 1000;

/** The non-empty documents of `text`, as plain JSON values. */
export function parseDocuments(text: string, tool: string, file: string): unknown[] {
  const values: unknown[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) return values; // an empty stream
  docs.forEach((doc, i) => {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0].line;
      throw new RenderError(
        tool,
        file,
        `invalid YAML${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0]}`,
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      throw new RenderError(tool, file, `document ${i + 1}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (value !== null && value !== undefined) values.push(value);
  });
  return values;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why `value` cannot be applied as a Kubernetes object, or undefined when it can. */
function problemOf(value: unknown): string | undefined {
  if (!isRecord(value)) return 'is not a mapping';
  if (typeof value.apiVersion !== 'string' || !value.apiVersion) return 'has no apiVersion';
  if (typeof value.kind !== 'string' || !value.kind) return 'has no kind';
  if (!isRecord(value.metadata) || typeof value.metadata.name !== 'string' || !value.metadata.name) {
    return `(${value.kind}) has no metadata.name (generateName cannot be applied idempotently)`;
  }
  return undefined;
}

/** `values` as objects, `List`s flattened (kubectl flattens any kind ending in List that has items). */
export function toKubernetesObjects(values: unknown[], tool: string, file: string): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  const visit = (value: unknown, where: string) => {
    if (
      isRecord(value) &&
      typeof value.kind === 'string' &&
      value.kind.endsWith('List') &&
      Array.isArray(value.items)
    ) {
      value.items.forEach((item, j) => visit(item, `${where}, item ${j + 1}`));
      return;
    }
    const problem = problemOf(value);
    if (problem) throw new RenderError(tool, file, `${where} ${problem}`);
    objects.push(value as KubernetesObject);
  };
  values.forEach((v, i) => visit(v, `document ${i + 1}`));
  return objects;
}
