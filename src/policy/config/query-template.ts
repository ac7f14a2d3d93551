// Metrics query templates from the policy: `{{service}}`-style placeholders filled per watch.
// Pure: used by the policy schema (to refuse unknown placeholders) and by the metrics sources.

/**
 * `window`: the counting interval of this poll as a PromQL duration ("61s"): from the end of the
 * previous poll's interval to now, so consecutive polls count disjoint intervals
 * (`increase(errors[{{window}}])`), as the sequential breach test requires.
 */
export const QUERY_PLACEHOLDERS = ['service', 'environment', 'version', 'readyAt', 'window'] as const;
export type QueryPlaceholder = (typeof QUERY_PLACEHOLDERS)[number];
export type QueryVars = Record<QueryPlaceholder, string>;

/**
 * What a watch window looks at: staging during the bake; the canary (beside the stable version)
 * during the canary watch and the approval wait; all of production after the rollout.
 */
export type QueryTarget = 'staging' | 'canary' | 'production';

/** One query for every window, or one per target (`canary` defaults to `production`'s). */
export type QueryTemplate = string | { staging: string; production: string; canary?: string };

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1])
    .filter((name) => !(QUERY_PLACEHOLDERS as readonly string[]).includes(name));
}

/**
 * Fills a template for one target. `escape` makes each value safe inside the query
 * language's string literal (a version tag must not be able to close a PromQL label matcher).
 */
export function renderQuery(
  template: QueryTemplate,
  target: QueryTarget,
  vars: QueryVars,
  escape: (v: string) => string,
): string {
  const text =
    typeof template === 'string'
      ? template
      : target === 'canary'
        ? (template.canary ?? template.production)
        : template[target];
  return text.replace(PLACEHOLDER, (_, name: string) => escape(vars[name as QueryPlaceholder]));
}
