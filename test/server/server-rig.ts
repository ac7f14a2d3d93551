// A live webhook server on a free port, wired to a real Temporal dev server and the fakes.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createServer } from '../../src/server/app';
import type { ServerConfig } from '../../src/server/config';
import type { ServerDeps } from '../../src/server/deps';
import { parsePolicy } from '../../src/policy/config/load';
import { Octokit } from '@octokit/rest';
import { pullRequestFilesWith } from '../../src/integrations/github/github-files';
import { devServerEnv, testPolicyYaml, type PolicyOverrides } from '../helpers/harness';
import { startGithubFake, type GithubFake } from '../fakes/github-fake';

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
  const app = createServer({ host: '127.0.0.1', port: 0, bodyLimit: 64 * 1024, ...config }, full);
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
export async function startGithubWebhookRig(secret: string): Promise<GithubWebhookRig> {
  const env = await devServerEnv();
  const github = await startGithubFake();
  const server = await startLiveServer(
    env,
    { github: { webhookSecret: secret } },
    { pullRequestFiles: pullRequestFilesWith(new Octokit({ baseUrl: github.url })) },
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
