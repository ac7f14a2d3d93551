// Who wrote and who committed each commit of a pull request, from the GitHub API (every page).
// GitHub's login where it matched the git identity to an account, else the git email and name:
// the server adds them to the change's author set, none of whom may approve it.
import type { Octokit } from '@octokit/rest';

export interface PullRequestCommitIdentities {
  /** How many commits GitHub listed (it lists at most 250 of a pull request). */
  commits: number;
  /** Logins, or git emails and names where GitHub knows no account; in order, without repeats. */
  identities: string[];
}

type GitUser = { name?: string; email?: string } | null | undefined;
type GithubUser = { login?: string } | null | undefined;

/** The login, or the git email and name: an unknown account is still someone. */
function identitiesOf(user: GithubUser, git: GitUser): string[] {
  if (user?.login) return [user.login];
  return [git?.email, git?.name].filter((v): v is string => typeof v === 'string' && v.trim() !== '');
}

export function pullRequestCommitsWith(octokit: Octokit) {
  return async (repository: string, number: number): Promise<PullRequestCommitIdentities> => {
    const [owner, repo] = repository.split('/');
    const commits = await octokit.paginate(octokit.rest.pulls.listCommits, {
      owner,
      repo,
      pull_number: number,
      per_page: 100,
    });
    const identities = commits.flatMap((c) => [
      ...identitiesOf(c.author as GithubUser, c.commit.author),
      ...identitiesOf(c.committer as GithubUser, c.commit.committer),
    ]);
    return { commits: commits.length, identities: [...new Set(identities)] };
  };
}
