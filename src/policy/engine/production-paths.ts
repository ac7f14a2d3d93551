// What counts as production: a path segment or a namespace named for it.
const PRODUCTION_NAMES = new Set(['production', 'prod', 'prd']);

export function isProductionPath(path: string): boolean {
  return path.split('/').some((segment) => PRODUCTION_NAMES.has(segment.toLowerCase()));
}

export function isProductionNamespace(namespace: string | undefined): boolean {
  return namespace !== undefined && PRODUCTION_NAMES.has(namespace.toLowerCase());
}
