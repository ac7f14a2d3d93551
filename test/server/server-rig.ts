// A live webhook server on a free port, wired to a real Temporal dev server and the fakes.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createServer } from '../../src/server/app';
import type { ServerConfig } from '../../src/server/config';
import type { ServerDeps } from '../../src/server/deps';
import { parsePolicy } from '../../src/policy/load';
import { testPolicyYaml, type PolicyOverrides } from '../helpers/harness';

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
