// Which declared service a merged change touches: the changed paths against policy.services[].paths.
import type { Policy } from '../policy/config/schema';
import { HttpError } from './http-errors';
import { pathGlob } from '../policy/engine/check-context';

export function serviceOf(policy: Policy, paths: string[]): string {
  const touched = new Set<string>();
  for (const s of policy.services) {
    const match = pathGlob(s.paths);
    if (paths.some((p) => match(p))) touched.add(s.name);
  }
  if (touched.size === 0) {
    throw new HttpError(
      422,
      `change touches no service declared in policy.services (${paths.length} changed paths, e.g. ${paths.slice(0, 3).join(', ') || 'none'})`,
    );
  }
  if (touched.size > 1) {
    throw new HttpError(
      422,
      `change touches ${touched.size} services (${[...touched].sort().join(', ')}); one promotion carries one service, split the change`,
    );
  }
  return [...touched][0];
}
