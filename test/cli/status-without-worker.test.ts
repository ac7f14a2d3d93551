// `airlock status` with no worker polling: ended promotions come from the server's record (result
// and last reported state), a running one whose worker is gone says so within 5 s, a terminated one
// says loudly what is still deployed, and expected failures are one line, never a stack trace.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { createRig, devServerEnv, state, type PolicyOverrides } from '../helpers/harness';
import { runCli } from '../../src/cli/main';
import { ExitCode } from '../../src/cli/errors';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SHORT: PolicyOverrides = { bakeHours: 3 / 3600, canaryMinutes: 2 / 60, productionWatchMinutes: 2 / 60 };

async function status(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const started = Date.now();
  const code = await runCli(['status', ...args], {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    client: async () => env.client,
  });
  return { code, out: out.join('\n'), err: err.join('\n'), ms: Date.now() - started };
}

async function until(h: WorkflowHandle, stage: string) {
  for (let i = 0; i < 200; i++) {
    if ((await state(h)).stage === stage) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never reached ${stage}`);
}

describe('status without a worker', () => {
  test('an ended promotion shows its outcome from the server record, fast, by id and by service', async () => {
    const service = `blocked-svc-${Date.now().toString(36)}`;
    const rig = createRig(env, {
      // Blocked at once: no rule waivable, so the dev server's real clock never waits for waivers.
      policy: { ...SHORT, extra: 'checks: { waivable: [] }' },
      deps: {
        checkChange: async () => [
          {
            rule: 'liveness-probe',
            level: 'block',
            file: 'k8s/deployment.yaml',
            line: 12,
            message: 'failureThreshold 1',
          },
        ],
      },
    });
    const h = await rig.run(async () => {
      const handle = await rig.start({ service });
      await handle.result();
      return handle;
    });
    // rig.run has returned: no worker polls this task queue any more.
    const byId = await status([h.workflowId]);
    expect(byId.code).toBe(ExitCode.Ok);
    expect(byId.ms).toBeLessThan(5_000);
    expect(byId.out).toContain('stage    ended → blocked');
    expect(byId.out).toContain('liveness-probe: failureThreshold 1');
    expect(byId.out).not.toContain('NOTICE');
    const byService = await status([service]);
    expect(byService.code).toBe(ExitCode.Ok);
    expect(byService.out).toContain(h.workflowId);
    expect(byService.out).toContain('ended → blocked');
  });

  test('a running promotion whose worker is gone says so within 5 s and shows its last reported stage', async () => {
    const rig = createRig(env, { policy: { ...SHORT, bakeHours: 24 } });
    const h = await rig.run(async () => {
      const handle = await rig.start();
      await until(handle, 'baking');
      return handle;
    });
    const r = await status([h.workflowId]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.ms).toBeLessThan(5_000 + 1_000);
    expect(r.out).toMatch(/^NOTICE +no worker answered within 4 s \(task queue "tq-/);
    expect(r.out).toContain('stage    baking');
    const json = await status([h.workflowId, '--json']).then(
      (x) => JSON.parse(x.out) as { stage: string; notice: string },
    );
    expect(json.stage).toBe('baking');
    expect(json.notice).toMatch(/no worker answered/);
    await h.terminate('test cleanup');
  });

  test('a terminated promotion says that no rollback ran and what is still deployed', async () => {
    const rig = createRig(env, { policy: { ...SHORT, bakeHours: 24 } });
    const h = await rig.run(async () => {
      const handle = await rig.start();
      await until(handle, 'baking');
      await handle.terminate('operator pressed terminate');
      return handle;
    });
    const r = await status([h.workflowId]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.out).toMatch(
      /NOTICE +TERMINATED at .*: operator pressed terminate\. The workflow ran no rollback; still deployed as last reported: staging\./,
    );
    // Where to look next: the compensation the blast-radius slot's reaper starts for it.
    expect(r.out).toContain(`airlock status compensate-${h.workflowId}`);
  });

  test('unknown ids and services are one line with the not-found exit code, never a stack trace', async () => {
    const missing = await status(['promotion-nope-0000000000000000000000000000000000000000']);
    expect(missing.code).toBe(ExitCode.NotFound);
    expect(missing.err.split('\n')).toHaveLength(1);
    expect(missing.err).not.toMatch(/\n\s+at /);
    const noService = await status(['no-such-service']);
    expect(noService.code).toBe(ExitCode.NotFound);
    expect(noService.err).toMatch(/no promotion of service "no-such-service"/);
  });
});
