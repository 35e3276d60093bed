/**
 * OpenTelemetry tracing end to end: the real CLI (`sluice run --wait`) and the real worker process
 * (`sluice worker`), each with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver in this
 * test, so the spans travel through the real exporter. One trace must cover the CLI's span, the
 * workflow's spans, each stage's activity span (with Sluice's attributes) and the AWS calls below
 * each stage. The batch delay is set far beyond the test's length, so every span that arrives was
 * flushed when the CLI exited or the worker shut down. Without the variable nothing is sent and
 * no OpenTelemetry module is loaded in either process (a preloaded probe reads require.cache).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetJobCommand } from '@aws-sdk/client-glue';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AwsClients } from '../../activities/aws-clients';
import { installTracing } from '../../plugin/tracing';
import { createBucket, createGlueJob, uniqueName } from '../support/aws';
import { pipelineDir, sluice, spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { waitFor } from '../support/temporal';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
}
interface OtlpBody {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}
interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  attrs: Record<string, string | number | boolean | undefined>;
}

/**
 * Preloaded (node --require) into the CLI and worker processes: when the process exits it says on
 * stderr whether any OpenTelemetry module was ever loaded.
 */
const PROBE = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-otel-probe-')), 'otel-probe.js');
writeFileSync(
  PROBE,
  `'use strict';
const marker = ${JSON.stringify(`${path.sep}@opentelemetry${path.sep}`)};
process.on('exit', () => {
  const loaded = Object.keys(require.cache).some((k) => k.includes(marker));
  process.stderr.write('\\nsluice-otel-probe: opentelemetry loaded=' + loaded + '\\n');
});
`,
);
const { file: pipelineFile } = pipelineDir('sluice-tracing-');
const spans: Span[] = [];
let requests = 0;
let receiver: Server;
let endpoint: string;

function valueOf(v: OtlpValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.boolValue ?? v.doubleValue;
}
function attrsOf(list: { key: string; value: OtlpValue }[] = []): Span['attrs'] {
  return Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests++;
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as OtlpBody;
        for (const rs of parsed.resourceSpans) {
          const service = String(attrsOf(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId || undefined,
                name: s.name,
                attrs: attrsOf(s.attributes),
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A `sluice worker` process with the probe preloaded; `stop()` sends SIGTERM and returns its stderr. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<{ stop(): Promise<string> }> {
  const child: ChildProcess = await spawnWorker({ NODE_OPTIONS: `--require ${PROBE}`, ...env });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      return stderr;
    },
  };
}

function twoStagePipeline(name: string, bucket: string, job: string): string {
  return `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
  timeout: { heartbeat: 5s }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}/orders.csv", Body: "id,amount\\n1,10\\n" }
  - id: transform
    kind: glue.job
    dependsOn: [land]
    params:
      JobName: ${job}
      Arguments: { "--ds": "{{ ds }}" }
`;
}

const NO_TRACING = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };

test('one trace from `sluice run` through the workflow and each stage to every AWS call', async () => {
  const taskQueue = uniqueName('e2e-tracing');
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Only the flush at exit / shutdown exports: the spans below prove both flush.
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    SLUICE_TASK_QUEUE: taskQueue,
  };
  const worker = await startWorker(otel);
  const name = uniqueName('traced');
  const [bucket, job] = [await createBucket(), await createGlueJob()];
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500 });
  const res = await sluice(
    [
      'run',
      '--pipeline',
      pipelineFile(name, twoStagePipeline(name, bucket, job)),
      '--date',
      '2024-05-06',
      '--wait',
      '--json',
    ],
    { ...otel, NODE_OPTIONS: `--require ${PROBE}` },
  );
  expect(res.code).toBe(0);
  expect(res.stderr).toContain('opentelemetry loaded=true');
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    ok: boolean;
    workflowId: string;
    status: { stages: { id: string; jobId?: string }[] };
  };
  expect(out.ok).toBe(true);
  const glueRunId = out.status.stages.find((s) => s.id === 'transform')?.jobId;
  expect(glueRunId).toBeTruthy();

  // The CLI flushed at exit: its spans are here before the worker stops.
  const cliSpan = await waitFor('the CLI span', async () => spans.find((s) => s.name === 'sluice run'), 30_000);
  expect(cliSpan.service).toBe('sluice-cli');
  expect(cliSpan.parentSpanId).toBeUndefined();
  expect(cliSpan.attrs).toMatchObject({ 'sluice.pipeline': name, 'sluice.ds': '2024-05-06', 'sluice.command': 'run' });
  const trace = cliSpan.traceId;
  expect(spans.find((s) => s.name === 'StartWorkflow:runPipeline')).toMatchObject({
    traceId: trace,
    parentSpanId: cliSpan.spanId,
    service: 'sluice-cli',
  });

  const workerStderr = await worker.stop();
  expect(workerStderr).toContain('opentelemetry loaded=true');
  const inTrace = spans.filter((s) => s.traceId === trace);
  const named = (n: string) => inTrace.filter((s) => s.name === n);

  // The workflow's own spans (made in the sandbox, exported through the sink) are in the same trace.
  expect(named('RunWorkflow:runPipeline')).toHaveLength(1);
  expect(named('RunWorkflow:runPipeline')[0]).toMatchObject({
    service: 'sluice-worker',
    parentSpanId: named('StartWorkflow:runPipeline')[0]?.spanId,
    attrs: { 'sluice.pipeline': name, 'sluice.ds': '2024-05-06' },
  });
  expect(named('StartActivity:runStage').length).toBeGreaterThanOrEqual(2);

  const stageSpan = (stage: string) => {
    const found = named('RunActivity:runStage').filter((s) => s.attrs['sluice.stage'] === stage);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const land = stageSpan('land');
  const transform = stageSpan('transform');
  expect(land.attrs).toMatchObject({
    'sluice.pipeline': name,
    'sluice.ds': '2024-05-06',
    'sluice.kind': 's3.put',
    'sluice.outcome': 'succeeded',
  });
  expect(transform.attrs).toMatchObject({
    'sluice.pipeline': name,
    'sluice.ds': '2024-05-06',
    'sluice.kind': 'glue.job',
    'sluice.job_id': glueRunId,
    'sluice.outcome': 'succeeded',
    temporalWorkflowId: out.workflowId,
  });

  // Every AWS call is a client span below its stage's activity span.
  const callsOf = (parent: Span) => inTrace.filter((s) => s.parentSpanId === parent.spanId).map((s) => s.name);
  expect(callsOf(land)).toContain('S3.PutObject');
  expect(callsOf(transform)).toEqual(expect.arrayContaining(['Glue.StartJobRun', 'Glue.GetJobRun']));
  const start = inTrace.find((s) => s.name === 'Glue.StartJobRun')!;
  expect(start.attrs).toMatchObject({
    'rpc.system': 'aws-api',
    'rpc.service': 'Glue',
    'rpc.method': 'StartJobRun',
    'http.response.status_code': 200,
  });
  // Nothing Sluice made went to another trace.
  const services = new Set(spans.filter((s) => s.traceId !== trace).map((s) => s.name));
  expect([...services].filter((n) => /runStage|runPipeline|^Glue\.|^S3\./.test(n))).toEqual([]);
}, 180_000);

test('with OTEL_EXPORTER_OTLP_ENDPOINT unset nothing is sent and no OpenTelemetry module loads', async () => {
  const taskQueue = uniqueName('e2e-untraced');
  const before = requests;
  const worker = await startWorker({ ...NO_TRACING, SLUICE_TASK_QUEUE: taskQueue });
  const name = uniqueName('untraced');
  const bucket = await createBucket();
  const res = await sluice(
    [
      'run',
      '--pipeline',
      pipelineFile(
        name,
        `name: ${name}\nstages:\n  - id: land\n    kind: s3.put\n    params: { Bucket: ${bucket}, Key: k, Body: x }\n`,
      ),
      '--date',
      '2024-05-06',
      '--wait',
    ],
    { ...NO_TRACING, SLUICE_TASK_QUEUE: taskQueue, NODE_OPTIONS: `--require ${PROBE}` },
  );
  expect(res.code).toBe(0);
  expect(res.stdout).toContain('succeeded');
  expect(res.stderr).toContain('opentelemetry loaded=false');
  const workerStderr = await worker.stop();
  expect(workerStderr).toContain('opentelemetry loaded=false');
  expect(requests).toBe(before);
}, 120_000);

test('a malformed endpoint is refused before anything starts', async () => {
  const res = await sluice(['runs'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' });
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
  expect(res.stderr).toContain('"localhost:4318"');
  expect(res.stderr).toContain('Fix:');
});

// Last: it installs tracing in this process, with an in-process exporter.
test('an AWS call that fails is an error span with its request id and HTTP status', async () => {
  const memory = new InMemorySpanExporter();
  const tracing = installTracing({ serviceName: 'e2e', spanProcessor: new SimpleSpanProcessor(memory) });
  const clients = new AwsClients();
  const missing = uniqueName('no-such-job');
  try {
    await tracing.inSpan('stage', {}, async () => {
      await expect(clients.glue.send(new GetJobCommand({ JobName: missing }))).rejects.toThrow(missing);
    });
  } finally {
    clients.destroy();
  }
  const finished = memory.getFinishedSpans();
  const call = finished.find((s) => s.name === 'Glue.GetJob');
  const stage = finished.find((s) => s.name === 'stage');
  expect(call).toBeDefined();
  expect(call!.parentSpanId).toBe(stage!.spanContext().spanId);
  expect(call!.status.code).toBe(2); // SpanStatusCode.ERROR
  expect(call!.status.message).toContain('EntityNotFoundException');
  expect(call!.attributes).toMatchObject({
    'rpc.system': 'aws-api',
    'rpc.method': 'GetJob',
    'http.response.status_code': 400,
  });
  expect(typeof call!.attributes['aws.request_id']).toBe('string');
  expect(call!.events.map((e) => e.name)).toContain('exception');
  await tracing.shutdown();
});
