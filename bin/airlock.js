#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so `airlock` works without a build step.
const { spawnSync } = require('node:child_process');
const { resolve } = require('node:path');

const root = resolve(__dirname, '..');
const tsx = require.resolve('tsx/cli', { paths: [root] });
const r = spawnSync(process.execPath, [tsx, resolve(root, 'src/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
