// Literal env values (`env: [{ name, value }]` of containers) redacted from the diff approvers read.
// The diff is a display copy: it lands in the promotion's state (Web UI, Slack, `airlock status`
// and `diff`) and the preview activity's result. Snapshots are not redacted: a restore writes
// them back verbatim, so they keep the values and rely on the payload codec (docs/codec.md).
//
// A value is shown as `<redacted: N chars>`; on the `after` side of an update, a value that differs
// from the one `before` had under the same container and name is `<redacted: N chars, changed>`, so
// a change of a value (even one of the same length) is still a changed line of the diff.
import type { Json } from './object-set';

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

type EnvValues = Map<string, string>;

/** Every literal env value of `o`, keyed by where it is (path through named containers, env name). */
function walk(o: unknown, path: string, visit: (key: string, env: Json) => void): void {
  if (Array.isArray(o)) {
    o.forEach((x, i) => walk(x, `${path}[${i}]`, visit));
    return;
  }
  if (!o || typeof o !== 'object') return;
  for (const [k, v] of Object.entries(o as Json)) {
    if (CONTAINER_LISTS.has(k) && Array.isArray(v)) {
      for (const c of v as Json[]) {
        const at = `${path}.${k}[${String(c?.name)}]`;
        if (Array.isArray(c?.env))
          for (const e of c.env as Json[])
            if (typeof e?.name === 'string' && typeof e.value === 'string') visit(`${at}.env[${e.name}]`, e);
        walk(c, at, visit);
      }
    } else walk(v, `${path}.${k}`, visit);
  }
}

export function envValuesOf(o: Json | undefined): EnvValues {
  const values: EnvValues = new Map();
  walk(o, '', (key, e) => values.set(key, e.value as string));
  return values;
}

/**
 * A copy of `o` with every literal env value replaced. `before`: the values of the same object
 * before the change, to mark the ones that changed.
 */
export function redactEnvValues<T extends Json | undefined>(o: T, before?: EnvValues): T {
  if (!o) return o;
  const copy = structuredClone(o);
  walk(copy, '', (key, e) => {
    const value = e.value as string;
    const changed = before !== undefined && before.get(key) !== value;
    e.value = `<redacted: ${value.length} chars${changed ? ', changed' : ''}>`;
  });
  return copy;
}
