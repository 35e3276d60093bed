// Preloaded (node --require) into a CLI or worker process by test/e2e/tracing.test.ts: when the
// process exits it says on stderr whether any OpenTelemetry module was ever loaded.
'use strict';
const path = require('node:path');
const marker = `${path.sep}@opentelemetry${path.sep}`;
process.on('exit', () => {
  const loaded = Object.keys(require.cache).some((k) => k.includes(marker));
  process.stderr.write(`\nsluice-otel-probe: opentelemetry loaded=${loaded}\n`);
});
