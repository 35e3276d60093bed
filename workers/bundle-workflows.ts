/**
 * Bundles the workflow code once (at build time), so workers start without webpack. Four bundles:
 * the default one; one whose failure converter encodes failure messages and stack traces
 * (ENCODED_FAILURES_PATH), which a worker with encrypted payloads loads instead; and a traced
 * variant of each (`traced.` in the name) with @temporalio/interceptors-opentelemetry's workflow
 * interceptors, which a worker with OTEL_EXPORTER_OTLP_ENDPOINT loads. Tracing lives in its own
 * bundle so a worker without it runs none of its code (no span is made in the sandbox).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { otelWorkflowInterceptorsPath } from '../common/tracing';
import { ENCODED_FAILURES_PATH } from '../plugin/payloads';
import { SluicePlugin, WORKFLOW_TRACING_PATH } from '../plugin/plugin';

export interface BundleVariant {
  encodedFailures?: boolean;
  traced?: boolean;
}

/** Where a variant of the default bundle `bundlePath` lives, beside it. */
export function bundleVariantPath(bundlePath: string, v: BundleVariant): string {
  const prefix = `${v.encodedFailures ? 'encoded-failures.' : ''}${v.traced ? 'traced.' : ''}`;
  return prefix ? path.join(path.dirname(bundlePath), `${prefix}${path.basename(bundlePath)}`) : bundlePath;
}

/** Where the bundle with encoded failures lives, beside the default bundle `bundlePath`. */
export function encodedFailuresBundlePath(bundlePath: string): string {
  return bundleVariantPath(bundlePath, { encodedFailures: true });
}

/** The code of one variant of the bundle, from the workflow code beside this file (compiled or source). */
export async function workflowBundleCode(v: BundleVariant = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The plugin adds Sluice's workflow interceptor module, as it does for a team bundling its own
    // workflows. Its options are explicit: the build never reads SLUICE_PAYLOAD_KEYS or OTEL_*.
    // The OpenTelemetry interceptors come first, then Sluice's, as when a traced worker bundles at start.
    ...(v.traced ? { workflowInterceptorModules: [otelWorkflowInterceptorsPath(), WORKFLOW_TRACING_PATH] } : {}),
    plugins: [new SluicePlugin({ payloads: {}, tracing: false })],
    ...(v.encodedFailures ? { failureConverterPath: ENCODED_FAILURES_PATH } : {}),
    logger: new DefaultLogger('WARN'),
  });
  return code;
}

async function bundle(out: string, v: BundleVariant): Promise<void> {
  const code = await workflowBundleCode(v);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
}

export const BUNDLE_VARIANTS: readonly BundleVariant[] = [
  {},
  { encodedFailures: true },
  { traced: true },
  { encodedFailures: true, traced: true },
];

export async function writeWorkflowBundle(out: string): Promise<void> {
  for (const v of BUNDLE_VARIANTS) await bundle(bundleVariantPath(out, v), v);
}

if (require.main === module) {
  const out = process.argv[2] ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
  writeWorkflowBundle(out).then(
    () => console.log(`workflow bundles written: ${BUNDLE_VARIANTS.map((v) => bundleVariantPath(out, v)).join(', ')}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
