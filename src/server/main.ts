// `npm run server`: the webhook server with the worker's policy and Temporal settings.
import { readFileSync } from 'node:fs';
import { Octokit } from '@octokit/rest';
import { loadConfig } from '../worker/config';
import { parsePolicy } from '../policy/config/load';
import { connectClient } from '../client/temporal-connection';
import { createServer } from './app';
import { loadServerConfig } from './config';
import { createSlackPoster, SLACK_RESPONSE_BASE } from '../integrations/slack/slack-poster';
import { pullRequestFilesWith } from '../integrations/github/github-files';
import { pullRequestCommitsWith } from '../integrations/github/pull-request-commits';
import { postPolicyCheckRun } from '../integrations/github/policy-check-run';
import { workerProtectedPaths } from '../worker/policy-wiring';
import { createPullRequestChecker } from './pull-request-check';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = loadServerConfig();
  const loadPolicy = () => parsePolicy(readFileSync(config.policyPath, 'utf8'), config.policyPath).policy;
  loadPolicy(); // refuse to start on a broken policy
  const temporal = await connectClient();
  const token = server.github?.token;
  const octokit = token
    ? new Octokit({ auth: token, ...(server.github?.apiUrl ? { baseUrl: server.github.apiUrl } : {}) })
    : undefined;
  // The clone is the worker's (AIRLOCK_REPO_DIR, parsed with the worker's config, which also refuses
  // a policy inside it); the check runs need the token. Without both, nothing is checked before the merge.
  const preMerge =
    config.repoDir && octokit
      ? createPullRequestChecker({
          repoDir: config.repoDir,
          protectedPaths: workerProtectedPaths(config.policyPath),
          post: (check) => postPolicyCheckRun(octokit, check),
        })
      : undefined;
  const app = createServer(
    server,
    {
      temporal,
      taskQueue: config.taskQueue,
      loadPolicy,
      ...(octokit
        ? { pullRequestFiles: pullRequestFilesWith(octokit), pullRequestCommits: pullRequestCommitsWith(octokit) }
        : {}),
      ...(preMerge ? { checkPullRequest: preMerge } : {}),
      ...(server.slack
        ? {
            // A configured SLACK_API_URL (a local Slack in tests) adds its origin, nothing wider.
            slack: createSlackPoster(
              server.slack.apiUrl
                ? [SLACK_RESPONSE_BASE, `${new URL(server.slack.apiUrl).origin}/`]
                : [SLACK_RESPONSE_BASE],
            ),
          }
        : {}),
    },
    { logger: true },
  );
  await app.listen({ host: server.host, port: server.port });
  const on =
    [server.github && 'github', server.slack && 'slack', server.alerts && 'alerts'].filter(Boolean).join(', ') ||
    'none';
  app.log.info(`airlock server: integrations ${on}`);
  if (server.github && !preMerge)
    app.log.warn(
      `airlock server: pre-merge checks are off (no "Airlock policy" check run on pull requests): ${config.repoDir ? 'GITHUB_TOKEN' : 'AIRLOCK_REPO_DIR'} is not set`,
    );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
