#!/usr/bin/env node
// Launcher: runs the compiled CLI (dist/cli/main.js, built by `npm run build`; `npm ci` builds it
// through `prepare`) in this process: no tsx, no child process. Exit codes are runCli's (docs/cli.md).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  // A git checkout that was never built. Exit 2 ("nothing was done"): never 1, which `airlock check` uses for a block.
  process.stderr.write(`airlock: not built (dist/cli/main.js is missing): run \`npm run build\` in ${root}\n`);
  process.exit(2);
}
require(main)
  .runCli(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
