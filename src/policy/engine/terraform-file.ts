// Terraform files parsed with HashiCorp's own HCL parser (@cdktf/hcl2json, WASM) into its JSON form.
import { parse } from '@cdktf/hcl2json';

export type TerraformJson = Record<string, unknown>;
export type TerraformParse = { ok: true; json: TerraformJson } | { ok: false; reason: string; line?: number };

export function isTerraformPath(path: string): boolean {
  return path.endsWith('.tf') || path.endsWith('.tf.json');
}

export async function parseTerraformFile(path: string, text: string): Promise<TerraformParse> {
  try {
    if (path.endsWith('.json')) return { ok: true, json: JSON.parse(text) as TerraformJson };
    return { ok: true, json: await parse(path, text) };
  } catch (err) {
    const message = String((err as Error).message ?? err).replace(/^Error: /, '');
    // hcl2json reports "file.tf:LINE,COL-COL: summary; detail"; the position is all we take from it.
    const pos = /:(\d+),\d+(?:-\d+)?: /.exec(message);
    const reason = message.replace(/^parse config: \[/, '').replace(/\]$/, '');
    return { ok: false, reason: `HCL: ${reason}`, ...(pos ? { line: Number(pos[1]) } : {}) };
  }
}

/** `resource "TYPE" "NAME" {}` blocks as [type, name] pairs (hcl2json nests them type → name → [body]). */
export function resourcesOf(json: TerraformJson): { type: string; name: string; body: Record<string, unknown> }[] {
  const out: { type: string; name: string; body: Record<string, unknown> }[] = [];
  const resources = json.resource;
  if (!resources || typeof resources !== 'object') return out;
  for (const [type, byName] of Object.entries(resources as Record<string, unknown>)) {
    if (!byName || typeof byName !== 'object') continue;
    for (const [name, bodies] of Object.entries(byName as Record<string, unknown>)) {
      for (const body of Array.isArray(bodies) ? bodies : [bodies]) {
        if (body && typeof body === 'object') out.push({ type, name, body: body as Record<string, unknown> });
      }
    }
  }
  return out;
}

/** Local `source` paths of `module` blocks; registry and git sources are outside the repository. */
export function localModuleSources(json: TerraformJson): string[] {
  const modules = json.module;
  if (!modules || typeof modules !== 'object') return [];
  const out: string[] = [];
  for (const bodies of Object.values(modules as Record<string, unknown>)) {
    for (const body of Array.isArray(bodies) ? bodies : [bodies]) {
      const source = body && typeof body === 'object' ? (body as Record<string, unknown>).source : undefined;
      if (typeof source === 'string' && (source.startsWith('./') || source.startsWith('../'))) out.push(source);
    }
  }
  return out;
}

/** 1-based line of the first line that opens the given block, for pointing a finding at it. */
export function blockLine(text: string, keyword: string, labels: string[]): number | undefined {
  const opening = `${keyword} ${labels.map((l) => `"${l}"`).join(' ')}`;
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trimStart().startsWith(opening));
  return i >= 0 ? i + 1 : undefined;
}

/**
 * The HCL tokens of a file without comments and whitespace (line breaks collapsed into one), or
 * undefined when it holds a heredoc or a template (`${…}`), whose whitespace may be content. Equal tokens: the edit changed
 * only comments or formatting. Different tokens are taken as a content edit without an HCL parse
 * (the costliest step): a reflowed list or a trailing comma then counts as an edit, never the reverse.
 */
export function terraformTokens(text: string): string[] | undefined {
  if (text.includes('<<')) return undefined;
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      const literal = text.slice(i, j + 1);
      // A template's own quotes would end the string early here: let the parser judge it.
      if (literal.includes('${') || literal.includes('%{')) return undefined;
      tokens.push(literal);
      i = j + 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === '\n') {
      if (tokens.length && tokens[tokens.length - 1] !== '\n') tokens.push('\n');
      i++;
    } else if (/\s/.test(c)) i++;
    else if (/[\w.-]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[\w.-]/.test(text[j])) j++;
      tokens.push(text.slice(i, j));
      i = j;
    } else tokens.push(text[i++]);
  }
  return tokens;
}
