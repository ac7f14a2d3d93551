// Paths no change may touch whatever the policy says: the gate's own rules and configuration.
// An agent that can edit the policy can switch the gate off.
import { pathGlob } from './check-context';

export const ALWAYS_FORBIDDEN_PATHS = [
  '**/airlock.policy.yaml',
  '**/airlock.policy.yml',
  '**/.airlock/**',
  '**/airlock/**',
];

export interface ForbiddenMatch {
  glob: string;
  /** True for Airlock's own files, which the policy cannot unlist. */
  protected: boolean;
}

export function createForbiddenMatcher(
  policyGlobs: readonly string[],
  protectedPaths: readonly string[],
): (path: string) => ForbiddenMatch | undefined {
  const own = [...ALWAYS_FORBIDDEN_PATHS, ...protectedPaths].map((glob) => ({
    glob,
    match: pathGlob(glob),
    protected: true,
  }));
  const configured = policyGlobs.map((glob) => ({ glob, match: pathGlob(glob), protected: false }));
  const all = [...own, ...configured];
  return (path) => {
    const hit = all.find((m) => m.match(path));
    return hit && { glob: hit.glob, protected: hit.protected };
  };
}
