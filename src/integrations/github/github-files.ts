// The changed paths of a merged pull request, from the GitHub API (renames count both paths).
import type { Octokit } from '@octokit/rest';

export function pullRequestFilesWith(octokit: Octokit) {
  return async (repository: string, number: number): Promise<string[]> => {
    const [owner, repo] = repository.split('/');
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
      owner,
      repo,
      pull_number: number,
      per_page: 100,
    });
    return files.flatMap((f) => (f.previous_filename ? [f.filename, f.previous_filename] : [f.filename]));
  };
}
