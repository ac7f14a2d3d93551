// Metrics query templates from the policy: `{{service}}`-style placeholders filled per watch.
// Pure: used by the policy schema (to refuse unknown placeholders) and by the metrics sources.

export const QUERY_PLACEHOLDERS = ['service', 'environment', 'version', 'readyAt'] as const;
export type QueryPlaceholder = (typeof QUERY_PLACEHOLDERS)[number];
export type QueryVars = Record<QueryPlaceholder, string>;

/** A template is one query for both environments, or one per environment. */
export type QueryTemplate = string | { staging: string; production: string };

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((name) => !(QUERY_PLACEHOLDERS as readonly string[]).includes(name));
}

/**
 * Fills a template for one environment. `escape` makes each value safe inside the query
 * language's string literal (a version tag must not be able to close a PromQL label matcher).
 */
export function renderQuery(template: QueryTemplate, environment: 'staging' | 'production', vars: QueryVars, escape: (v: string) => string): string {
  const text = typeof template === 'string' ? template : template[environment];
  return text.replace(PLACEHOLDER, (_, name: string) => escape(vars[name as QueryPlaceholder]));
}
