#!/usr/bin/env node
'use strict';
// The executable: the CLI (client/cli.ts) and, for `sluice worker` and `sluice codec-server`, the
// worker's entry points, loaded only when one of those runs (client/ never imports workers/).
// The published CLI runs the compiled code; `npm install` builds it (the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const dist = path.join(__dirname, '..', 'dist');
const cli = path.join(dist, 'client', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('sluice is not built yet. Fix: run `npm run build` in ' + path.join(__dirname, '..'));
  process.exit(2);
}
/** @type {import('../client/cli/worker').ServerEntryPoints} */
const servers = {
  runWorker: (options) => require(path.join(dist, 'workers', 'main.js')).runWorker(options),
  serveCodec: (options) => require(path.join(dist, 'workers', 'codec-main.js')).serveCodec(options),
};
require(cli)
  .main(process.argv, servers)
  .then((code) => {
    process.exitCode = code;
  });
