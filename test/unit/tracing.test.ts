/**
 * Tracing's configuration: when OTEL_EXPORTER_OTLP_ENDPOINT turns it on, what a malformed one
 * says, and how SluicePlugin composes Temporal's OpenTelemetryPlugin into a team's Worker, Client
 * and bundle (its interceptors before Sluice's, the workflow span exporter as a sink). The spans
 * themselves are tested end to end in test/e2e/tracing.test.ts.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { otelWorkflowInterceptorsPath, TracingConfigError, tracingEndpoint } from '../../common/tracing';
import { sluiceActivityInterceptors } from '../../plugin/activity-interceptors';
import { SluicePlugin, WORKFLOW_INTERCEPTORS_PATH, WORKFLOW_TRACING_PATH } from '../../plugin/plugin';
import { installTracing } from '../../plugin/tracing';

test('tracing is on only with an OTLP endpoint, and OTEL_SDK_DISABLED wins', () => {
  expect(tracingEndpoint({})).toBeUndefined();
  expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
  expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('http://collector:4318');
  expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c/v1/traces' })).toBe('https://c/v1/traces');
  expect(
    tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
  ).toBeUndefined();
});

test('a malformed endpoint names the variable, the value and the fix', () => {
  const bad = () => tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
  expect(bad).toThrow(TracingConfigError);
  expect(bad).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: not an http\(s\) URL.*\(received "collector:4318"\)[\s\S]*Fix: /);
});

describe('with tracing', () => {
  const tracing = installTracing({
    serviceName: 'unit',
    spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()),
  });
  const teamInterceptor = () => ({});

  test("on a Worker bundling at start: OpenTelemetry's interceptors, then Sluice's, and the exporter sink", () => {
    const out = new SluicePlugin({ tracing, activities: {} }).configureWorker({
      taskQueue: 'team',
      workflowsPath: '/team/workflows.js',
      interceptors: { activity: [teamInterceptor], workflowModules: ['/team/interceptors.js'] },
    });
    const activity = out.interceptors?.activity ?? [];
    expect(activity).toHaveLength(3);
    expect(activity[0]).toBe(teamInterceptor);
    expect(activity[2]).toBe(sluiceActivityInterceptors);
    expect(out.interceptors?.workflowModules).toEqual([
      '/team/interceptors.js',
      otelWorkflowInterceptorsPath(),
      WORKFLOW_TRACING_PATH,
      WORKFLOW_INTERCEPTORS_PATH,
    ]);
    expect(Object.keys(out.sinks ?? {})).toContain('exporter');
  });

  test('on a Client: the OpenTelemetry client interceptor', () => {
    const out = new SluicePlugin({ tracing, payloads: {} }).configureClient({});
    const workflow = out.interceptors?.workflow;
    expect(Array.isArray(workflow) && workflow.some((i) => i instanceof OpenTelemetryWorkflowClientInterceptor)).toBe(
      true,
    );
  });

  test('tracing: false adds nothing of OpenTelemetry', () => {
    const out = new SluicePlugin({ tracing: false, activities: {} }).configureWorker({
      taskQueue: 'team',
      workflowsPath: '/team/workflows.js',
    });
    expect(out.interceptors?.activity).toEqual([sluiceActivityInterceptors]);
    expect(out.interceptors?.workflowModules).toEqual([WORKFLOW_INTERCEPTORS_PATH]);
    expect(out.sinks).toBeUndefined();
  });
});
