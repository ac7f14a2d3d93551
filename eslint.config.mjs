// Lint: correctness rules that matter for a Temporal codebase, not style.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

// Layers (README "Layout"): an import may only go down. `rel(x)` matches a relative import of the
// folder x from anywhere under src/ (../x, ../../x/y, …).
const rel = (folder) => `^(\\.\\./)+${folder}(/|$)`;
const layer = (message, folders, typeOnly = []) => [
  ...folders.map((f) => ({ regex: rel(f), message })),
  ...typeOnly.map((f) => ({ regex: rel(f), allowTypeImports: true, message: `${message} (type imports only)` })),
];
const BOUNDARIES = [
  {
    files: ['src/server/**/*.ts'],
    patterns: layer('server and cli never import each other: move shared code to src/client or src/approvals', [
      'cli',
      'dev',
    ]),
  },
  {
    files: ['src/cli/**/*.ts'],
    patterns: layer('cli and server never import each other: move shared code to src/client or src/approvals', [
      'server',
      'dev',
      'worker',
    ]),
  },
  {
    files: ['src/integrations/**/*.ts'],
    patterns: layer(
      'integrations are clients of outside systems: they never reach up into server, cli, worker, dev, activities or workflow code',
      ['server', 'cli', 'worker', 'dev', 'activities', 'client'],
      ['workflows'],
    ),
  },
  {
    files: ['src/activities/**/*.ts'],
    patterns: layer('activities are factories over injected integrations: no server, cli, worker or dev code', [
      'server',
      'cli',
      'worker',
      'dev',
    ]),
  },
  {
    files: ['src/policy/**/*.ts', 'src/common/**/*.ts', 'src/approvals/**/*.ts', 'src/codec/**/*.ts'],
    patterns: layer(
      'policy, approvals, codec and common are pure lower layers',
      ['server', 'cli', 'worker', 'dev', 'activities', 'integrations', 'client'],
      ['workflows'],
    ),
  },
  {
    files: ['src/client/**/*.ts'],
    patterns: layer('client is shared by cli, server and dev: it never imports them', [
      'server',
      'cli',
      'dev',
      'worker',
    ]),
  },
];

/** The layer rules as flat configs (exported for test/unit/lint-boundaries.test.ts). */
export const boundaryConfigs = BOUNDARIES.map(({ files, patterns }) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
}));

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.tools/**',
      '.airlock/**',
      'bench/results/**',
      'test/replay/histories/**',
      'bin/**',
      'dist/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits is an activity, update or signal whose failure nobody sees.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  ...boundaryConfigs,
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins, and
    // activities only through proxyActivities (type imports).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.flatMap((m) => [
            { name: m, message: 'workflow code is deterministic: no Node built-ins (do I/O in an activity)' },
            { name: `node:${m}`, message: 'workflow code is deterministic: no Node built-ins (do I/O in an activity)' },
          ]),
          patterns: [
            {
              group: [
                '../activities',
                '../activities/*',
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
              ],
              allowTypeImports: true,
              message: 'workflows reach activities and clients only through proxyActivities (type imports only)',
            },
            ...layer(
              'workflow code imports only the SDK, messages and pure modules',
              ['server', 'cli', 'worker', 'dev', 'client', 'integrations'],
              [],
            ),
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use wf.sleep: a durable timer' },
        { name: 'setInterval', message: 'use wf.sleep in a loop' },
        { name: 'process', message: 'no environment in workflow code' },
      ],
    },
  },
);
