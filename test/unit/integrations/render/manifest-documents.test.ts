// Tool output to objects: empty documents skipped, Lists flattened, every refusal names the file,
// the document and the reason; an alias bomb is refused instead of expanded.
import { expect, test } from 'vitest';
import { parseDocuments, toKubernetesObjects } from '../../../../src/integrations/render/manifest-documents';
import { RenderError } from '../../../../src/integrations/render/render-error';

const objects = (text: string) => toKubernetesObjects(parseDocuments(text, 'helm', 'c/t.yaml'), 'helm', 'c/t.yaml');

function refusal(text: string): string {
  try {
    objects(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RenderError);
    expect((err as RenderError).nonRetryable).toBe(true);
    return (err as Error).message;
  }
  return expect.fail('accepted');
}

test('empty documents are skipped and List kinds flattened in order', () => {
  const text = `---
# only a comment
---
apiVersion: v1
kind: ConfigMapList
items:
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: a } }
  - apiVersion: v1
    kind: List
    items: [{ apiVersion: v1, kind: Secret, metadata: { name: b } }]
---
{ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "c" } }
`;
  expect(objects(text).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/a', 'Secret/b', 'Service/c']);
  expect(objects('')).toEqual([]);
});

test('what cannot be applied is refused with the file, the document and the reason', () => {
  expect(refusal('kind: ConfigMap\nmetadata: { name: a }\n')).toBe(
    'render: helm: c/t.yaml: document 1 has no apiVersion',
  );
  expect(refusal('---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\n---\n- 1\n')).toBe(
    'render: helm: c/t.yaml: document 2 is not a mapping',
  );
  expect(refusal('apiVersion: v1\nkind: List\nitems: [{ apiVersion: v1, metadata: { name: x } }]\n')).toBe(
    'render: helm: c/t.yaml: document 1, item 1 has no kind',
  );
  expect(refusal('apiVersion: v1\nkind: Pod\nmetadata: {}\n')).toMatch(/document 1 \(Pod\) has no metadata\.name/);
  expect(refusal('a: 1\na: 2\n')).toMatch(/^render: helm: c\/t\.yaml: invalid YAML at line 2: /);
});

test('a YAML alias bomb is refused, not expanded', () => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  expect(refusal(`${levels.join('\n')}\n`)).toMatch(/^render: helm: c\/t\.yaml: document 1: .*alias/i);
});
