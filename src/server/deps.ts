// What the server's routes need, injected so tests run them against real Temporal and fakes.
import type { Client } from '@temporalio/client';
import type { Policy } from '../policy/config/schema';
import type { SlackPoster } from '../integrations/slack/slack-poster';
import type { PullRequestCommitIdentities } from '../integrations/github/pull-request-commits';
import type { PullRequestChecker } from './pull-request-check';

export interface ServerDeps {
  temporal: Client;
  taskQueue: string;
  slotWorkflowId?: string;
  /** The worker's policy, re-read per request so edits apply without a restart. */
  loadPolicy: () => Policy;
  /** Changed paths of a pull request, from the GitHub API. */
  pullRequestFiles?: (repository: string, number: number) => Promise<string[]>;
  /** Authors and committers of every commit of a pull request, from the GitHub API. */
  pullRequestCommits?: (repository: string, number: number) => Promise<PullRequestCommitIdentities>;
  /**
   * Checks an opened or pushed pull request and posts the `Airlock policy` check run; absent
   * without a clone (AIRLOCK_REPO_DIR) and a GITHUB_TOKEN: no check before the merge.
   */
  checkPullRequest?: PullRequestChecker;
  /** Posts follow-ups to Slack (response_url); absent without Slack configuration. */
  slack?: SlackPoster;
  /** ms since epoch; injected so signature windows are tested without waiting. */
  now?: () => number;
}
