// A live webhook server on a free port, wired to a real Temporal dev server and the fakes.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createServer } from '../../src/server/app';
import type { RateLimits, ServerConfig } from '../../src/server/config';
import type { ServerDeps } from '../../src/server/deps';
import { parsePolicy } from '../../src/policy/config/load';
import { Octokit } from '@octokit/rest';
import { pullRequestFilesWith } from '../../src/integrations/github/github-files';
import { pullRequestCommitsWith } from '../../src/integrations/github/pull-request-commits';
import { devServerEnv, testPolicyYaml, type PolicyOverrides } from '../helpers/harness';
import { startGithubFake, type GithubFake } from '../fakes/github-fake';

/** Limits no test or benchmark reaches, for suites that send thousands of requests on purpose. */
export const UNLIMITED_RATES: RateLimits = { windowMs: 60_000, github: 1e9, slack: 1e9, alerts: 1e9, health: 1e9 };
/** The repository of the @octokit/webhooks-examples payloads: the one the test servers promote. */
export const EXAMPLE_REPOSITORY = 'codertocat/hello-world';
/** The Slack workspace the test servers accept. */
export const TEST_TEAM_ID = 'T0001';

export interface LiveServer {
  app: FastifyInstance;
  url: string;
  deps: ServerDeps;
  post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: any }>;
}

export async function startLiveServer(
  env: TestWorkflowEnvironment,
  config: Partial<ServerConfig>,
  deps: Partial<ServerDeps> & { policy?: PolicyOverrides } = {},
): Promise<LiveServer> {
  const policyText = testPolicyYaml(deps.policy);
  const full: ServerDeps = {
    temporal: env.client,
    taskQueue: `tq-${randomUUID()}`,
    slotWorkflowId: `slot-${randomUUID()}`,
    loadPolicy: () => parsePolicy(policyText, 'test-policy').policy,
    ...deps,
  };
  const app = createServer(
    { host: '127.0.0.1', port: 0, bodyLimit: 64 * 1024, rateLimits: UNLIMITED_RATES, ...config },
    full,
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    url,
    deps: full,
    async post(path, body, headers) {
      const res = await fetch(`${url}${path}`, { method: 'POST', body, headers });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
  };
}

export interface GithubWebhookRig {
  env: TestWorkflowEnvironment;
  github: GithubFake;
  server: LiveServer;
  close(): Promise<void>;
}

/** A dev server, the GitHub fake and a live server verifying deliveries signed with `secret`. */
export async function startGithubWebhookRig(
  secret: string,
  repositories: string[] = [EXAMPLE_REPOSITORY],
  /** More dependencies, built with an Octokit that talks to the rig's GitHub fake. */
  more: (octokit: Octokit) => Partial<ServerDeps> = () => ({}),
): Promise<GithubWebhookRig> {
  const env = await devServerEnv();
  const github = await startGithubFake();
  const octokit = new Octokit({ baseUrl: github.url });
  const server = await startLiveServer(
    env,
    { github: { webhookSecret: secret, repositories } },
    {
      pullRequestFiles: pullRequestFilesWith(octokit),
      pullRequestCommits: pullRequestCommitsWith(octokit),
      ...more(octokit),
    },
  );
  return {
    env,
    github,
    server,
    async close() {
      await server.app.close();
      await github.close();
      await env.teardown();
    },
  };
}
