// Lint: correctness rules that matter for a Temporal codebase, not style.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'crypto', 'dns', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os', 'path', 'process', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads', 'zlib'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.airlock/**', 'bench/results/**', 'test/replay/histories/**', 'bin/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits is an activity, update or signal whose failure nobody sees.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs the promises test() and describe() return itself.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
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
            { group: ['../activities', '../activities/*', '@temporalio/activity', '@temporalio/client', '@temporalio/worker'], allowTypeImports: true, message: 'workflows reach activities and clients only through proxyActivities (type imports only)' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use wf.sleep: a durable timer' }, { name: 'setInterval', message: 'use wf.sleep in a loop' }, { name: 'process', message: 'no environment in workflow code' }],
    },
  },
);
