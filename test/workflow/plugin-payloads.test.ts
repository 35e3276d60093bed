/**
 * The one place for payload encoding (SluicePlugin's `payloads`, plugin/payloads.ts) reaches both
 * sides: a codec given to Sluice's worker and to the CLI's client (connectClient) encodes every
 * payload that reaches the server — the run's input with its params, the stage's input and result,
 * the run's result — and the run still succeeds. The stage activity is a stand-in.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { connectClient, startRun, waitForRun } from '../../client/runs';
import { definePipeline } from '../../common/pipeline';
import type { StageInput, StageResult } from '../../common/run-types';
import { SluicePlugin } from '../../plugin/plugin';
import { uniqueName } from '../support/aws';
import { temporalTestContext, type TestContext } from '../support/temporal';
import { testPoolActivities } from '../support/pools';

const ENCODING = 'binary/sluice-test';
const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('base64');

/** Wraps each payload whole (metadata and data) in one of its own encoding: nothing of it readable as it was. */
const wrapping: PayloadCodec = {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => ({
      metadata: { encoding: enc.encode(ENCODING) },
      data: enc.encode(
        Buffer.from(
          JSON.stringify({
            metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
            data: b64(p.data),
          }),
        ).toString('base64'),
      ),
    }));
  },
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (dec.decode(p.metadata?.encoding ?? new Uint8Array()) !== ENCODING) return p;
      const inner = JSON.parse(Buffer.from(dec.decode(p.data ?? new Uint8Array()), 'base64').toString()) as {
        metadata: Record<string, string>;
        data: string;
      };
      return {
        metadata: Object.fromEntries(Object.entries(inner.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(inner.data, 'base64'),
      };
    });
  },
};

let ctx: TestContext;
const seen: StageInput[] = [];

beforeAll(async () => {
  ctx = await temporalTestContext('wf-payloads');
  await ctx.startWorker({
    payloads: { codecs: [wrapping] },
    workerOptions: {
      activities: {
        ...testPoolActivities(),
        async runStage(input: StageInput): Promise<StageResult> {
          seen.push(input);
          return { summary: 'landed', output: { rows: 3 } };
        },
      },
    },
  });
});

afterAll(async () => {
  await ctx?.close();
});

test("a codec given to SluicePlugin encodes every payload of a run, on the worker's side and the client's", async () => {
  const marker = uniqueName('marker');
  const pipeline = definePipeline({
    name: uniqueName('payloads'),
    params: { note: { type: 'string' } },
    stages: [{ id: 'land', kind: 's3.put', params: { Bucket: 'b', Key: 'k', Body: '{{ params.note }}' } }],
  });
  const client = await connectClient(ctx.settings, undefined, new SluicePlugin({ payloads: { codecs: [wrapping] } }));
  try {
    const started = await startRun(client, ctx.settings, pipeline, '2024-03-01', { params: { note: marker } });
    const outcome = await waitForRun(started.handle);
    expect(outcome).toMatchObject({ ok: true, status: { status: 'succeeded' } });
    // The worker decoded what the client encoded: the stage got its rendered params.
    expect(seen.find((s) => s.pipeline === pipeline.name)?.params).toMatchObject({ Body: marker });

    // The raw history, read without the codec: every payload in it has the codec's encoding.
    const history = await started.handle.fetchHistory();
    const payloads: Payload[] = [];
    const collect = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      if (Array.isArray(v)) return v.forEach(collect);
      const o = v as Record<string, unknown>;
      if ('payloads' in o && Array.isArray(o.payloads)) payloads.push(...(o.payloads as Payload[]));
      else Object.values(o).forEach(collect);
    };
    const events = history.events ?? [];
    collect(events);
    const kinds = events.map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')));
    expect(kinds).toEqual(
      expect.arrayContaining([
        'workflowExecutionStartedEventAttributes',
        'activityTaskScheduledEventAttributes',
        'activityTaskCompletedEventAttributes',
        'workflowExecutionCompletedEventAttributes',
      ]),
    );
    expect(payloads.length).toBeGreaterThanOrEqual(4);
    expect(payloads.map((p) => dec.decode(p.metadata?.encoding ?? new Uint8Array()))).toEqual(
      payloads.map(() => ENCODING),
    );
    // The run's params (the marker) are in no payload as they were.
    expect(
      payloads.filter((p) =>
        Buffer.from(p.data ?? new Uint8Array())
          .toString()
          .includes(marker),
      ),
    ).toEqual([]);
  } finally {
    await client.connection.close();
  }
});
