#!/usr/bin/env node
'use strict';
// The published CLI runs the compiled code; `npm install` builds it (the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'client', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('sluice is not built yet. Fix: run `npm run build` in ' + path.join(__dirname, '..'));
  process.exit(2);
}
require(cli)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
