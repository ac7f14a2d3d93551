// Vitest: one project per test tier (`npx vitest run --project <tier>`).
//
// - pool 'forks' everywhere: Temporal's native core (the worker, the test servers' clients)
//   crashes in worker threads, and every file gets a process of its own, as with node:test.
// - The tiers that start servers (Temporal dev and time-skipping servers, Prometheus, a Kubernetes
//   control plane, workers) run one file at a time (fileParallelism: false), and each such tier
//   has its own sequence.groupOrder, so on 2 cores no two of them ever run at once; the pure tiers
//   (unit, policy) run first, together. Kubernetes runs last: its tests wait for the background
//   build scripts/setup.sh starts.
// - Timeouts: node:test had none by default; each tier's default is sized well above what its
//   slowest test or hook takes on a busy 2-core machine, and tests that carried their own bound
//   under node:test keep it.
// - @temporalio/* stays external (plain Node require, one copy of each module), so the SDK's error
//   classes are the same objects in tests and src: `instanceof WorkflowNotFoundError` holds.
import { defineConfig } from 'vitest/config';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface Tier {
  name: string;
  include: string[];
  testTimeout: number;
  hookTimeout: number;
  /** Groups run from lowest to highest; a server tier alone in its group. */
  groupOrder: number;
  /** Pure tiers may use both cores; server tiers run one file at a time. */
  parallel?: boolean;
}

// What every tier shares. Not `extends: true`: the root's globalSetup must run once, not per tier.
const shared = {
  pool: 'forks' as const,
  // tsx's require hook in each test process, as the worker runs under tsx in production: src
  // resolves workflow code with require.resolve('../workflows') (src/worker/worker.ts, handed to
  // bundleWorkflowCode), and plain Node's require.resolve knows no `.ts` extension.
  execArgv: ['--require', 'tsx/cjs'],
  environment: 'node',
  server: {
    deps: {
      external: [/@temporalio\//],
      // JSON from packages (`import { version } from '@temporalio/workflow/package.json'`): through
      // Vite's JSON plugin; Node's own import() of a .json wants `with { type: 'json' }`.
      inline: [/\/node_modules\/.+\.json$/],
    },
  },
};

function tier(t: Tier): TestProjectInlineConfiguration {
  return {
    test: {
      ...shared,
      name: t.name,
      include: t.include,
      testTimeout: t.testTimeout,
      hookTimeout: t.hookTimeout,
      sequence: { groupOrder: t.groupOrder },
      // The rig's watchdog (test/helpers/harness.ts) fires half a minute before the tier's timeout,
      // so a stuck test says what the server was waiting for before vitest gives up on it.
      env: { AIRLOCK_RIG_LIMIT_MS: String(t.testTimeout - 30 * SECOND) },
      ...(t.parallel ? { maxWorkers: 2 } : { fileParallelism: false, maxWorkers: 1 }),
    },
  };
}

export default defineConfig({
  test: {
    ...shared,
    // bash scripts/setup.sh (installers, Kubernetes build in the background), once per run.
    globalSetup: ['test/global-setup.ts'],
    // The README's figure: slow tests here are minutes of real Temporal servers, not a problem.
    slowTestThreshold: 30 * SECOND,
    projects: [
      // Pure code: no servers, no network.
      tier({
        name: 'unit',
        include: ['test/unit/**/*.test.ts'],
        testTimeout: 10 * SECOND,
        hookTimeout: 10 * SECOND,
        groupOrder: 0,
        parallel: true,
      }),
      // The policy engine on fixtures; the `check` CLI builds throwaway git repositories.
      tier({
        name: 'policy',
        include: ['test/policy/**/*.test.ts'],
        testTimeout: 30 * SECOND,
        hookTimeout: 30 * SECOND,
        groupOrder: 0,
        parallel: true,
      }),
      // The CLI against a dev server and a worker (child processes started with tsx).
      tier({
        name: 'cli',
        include: ['test/cli/**/*.test.ts'],
        testTimeout: 3 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 1,
      }),
      // The webhook server against fakes of GitHub and Slack, on a Temporal server.
      tier({
        name: 'server',
        include: ['test/server/**/*.test.ts'],
        testTimeout: 3 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 2,
      }),
      // The stage machine on the Java time-skipping server (the property test: several minutes).
      tier({
        name: 'workflows',
        include: ['test/workflows/**/*.test.ts'],
        testTimeout: 10 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 3,
      }),
      // Recorded histories replayed against the current code (bundling takes a while).
      tier({
        name: 'replay',
        include: ['test/replay/**/*.test.ts'],
        testTimeout: 5 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 4,
      }),
      // Real Prometheus scraping a test exporter, a fake Datadog, promotions watched through them.
      tier({
        name: 'monitoring',
        include: ['test/monitoring/**/*.test.ts'],
        testTimeout: 5 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 5,
      }),
      // The demo, search attributes and Update refusals on the Temporal CLI dev server.
      tier({
        name: 'e2e',
        include: ['test/e2e/**/*.test.ts'],
        testTimeout: 5 * MINUTE,
        hookTimeout: 3 * MINUTE,
        groupOrder: 6,
      }),
      // Worker SIGKILLs, server restarts, duplicate webhooks, bad input, deployer faults.
      tier({
        name: 'faults',
        include: ['test/faults/**/*.test.ts'],
        testTimeout: 10 * MINUTE,
        hookTimeout: 5 * MINUTE,
        groupOrder: 7,
      }),
      // `npm run bench -- --quick` as a child process.
      tier({
        name: 'bench-smoke',
        include: ['test/bench/**/*.test.ts'],
        testTimeout: 5 * MINUTE,
        hookTimeout: 1 * MINUTE,
        groupOrder: 8,
      }),
      // A real Kubernetes API server; the first hook waits up to 40 min for the background build.
      tier({
        name: 'kubernetes',
        include: ['test/kubernetes/**/*.test.ts'],
        testTimeout: 5 * MINUTE,
        hookTimeout: 45 * MINUTE,
        groupOrder: 9,
      }),
    ],
    coverage: {
      provider: 'v8',
      reporter: ['text'],
      include: ['src/**/*.ts'],
      // Workflow code runs bundled by webpack inside Temporal's workflow sandbox (a V8 context of
      // its own): V8 coverage of the test process never sees it, so it would read as 0 %.
      exclude: ['src/workflows/**'],
    },
  },
});
