// The GitHub and Slack reporters, each on only when its environment configuration is set.
// Parsed with zod once, in createDeps; tokens are never logged.
import { Octokit } from '@octokit/rest';
import { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { createGithubReporter } from '../integrations/github/github-reporter';
import type { Reporter } from '../integrations/reporter';
import { createSlackNotifier } from '../integrations/slack/slack-notifier';

const schema = z.object({
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.url().optional(),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.url().optional(),
  AIRLOCK_SLACK_CHANNEL: z.string().min(1).optional(),
});

export function integrationReporters(env: NodeJS.ProcessEnv = process.env): Reporter[] {
  const r = schema.safeParse(env);
  if (!r.success) throw new Error(`config: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  const c = r.data;
  const reporters: Reporter[] = [];
  if (c.GITHUB_TOKEN)
    reporters.push(
      createGithubReporter(
        new Octokit({ auth: c.GITHUB_TOKEN, ...(c.GITHUB_API_URL ? { baseUrl: c.GITHUB_API_URL } : {}) }),
      ),
    );
  if (c.SLACK_BOT_TOKEN) {
    if (!c.AIRLOCK_SLACK_CHANNEL)
      throw new Error('config: AIRLOCK_SLACK_CHANNEL: is required when SLACK_BOT_TOKEN is set');
    reporters.push(
      createSlackNotifier(
        new WebClient(c.SLACK_BOT_TOKEN, c.SLACK_API_URL ? { slackApiUrl: c.SLACK_API_URL } : {}),
        c.AIRLOCK_SLACK_CHANNEL,
      ),
    );
  }
  return reporters;
}
