/**
 * Worker-side observation of every stage attempt, without touching the stage code: log attributes
 * (pipeline, date, stage, kind on every activity log line), Prometheus metrics through the SDK
 * runtime's meter, and one CloudWatch EMF line when an attempt ends.
 */
import { ApplicationFailure, CancelledFailure, type Context } from '@temporalio/activity';
import type { MetricCounter, MetricHistogram, MetricMeter } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/constants';
import type { StageInput, StageResult } from '../common/run-types';
import { DEFAULT_PRICES, stageCost } from '../common/prices';
import { TRACE_ATTRIBUTES as A, traceAttributes } from '../common/tracing';
import { EMF_DIMENSIONS, EMF_METRICS, emfFields, SLUICE_METRICS } from './emf';

/** How an attempt ended: a retried error is `error`, a stage that will not be retried is `failed`. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'error' | 'cancelled' | 'interrupted';

export function attemptOutcome(err: unknown, cancelRequested: boolean): AttemptOutcome {
  if (err instanceof CancelledFailure) return cancelRequested ? 'cancelled' : 'interrupted';
  if (err instanceof ApplicationFailure && (err.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(err.type ?? '')))
    return 'failed';
  return 'error';
}

interface Instruments {
  attempts: MetricCounter;
  duration: MetricHistogram;
}
const instruments = new WeakMap<MetricMeter, Instruments>();
function instrumentsOf(meter: MetricMeter): Instruments {
  let i = instruments.get(meter);
  if (!i) {
    i = {
      attempts: meter.createCounter(
        SLUICE_METRICS.stageAttempts,
        '1',
        'Stage attempts that ended, by kind, pipeline and outcome',
      ),
      duration: meter.createHistogram(
        SLUICE_METRICS.stageDuration,
        'float',
        's',
        'Time from the stage first being scheduled to the end of this attempt',
      ),
    };
    instruments.set(meter, i);
  }
  return i;
}

/** A succeeded stage's cost (when its kind reports figures) and Temporal actions, as EMF metrics. */
function costMetrics(result: StageResult | undefined): Record<string, { value: number; unit: 'None' | 'Count' }> {
  if (!result) return {};
  const cost = stageCost(result.usage, DEFAULT_PRICES, result.temporalActions);
  return {
    ...(result.usage && cost.usd !== undefined ? { [EMF_METRICS.stageCost]: { value: cost.usd, unit: 'None' } } : {}),
    ...(result.temporalActions !== undefined
      ? { [EMF_METRICS.stageTemporalActions]: { value: result.temporalActions, unit: 'Count' } }
      : {}),
  };
}

export function sluiceActivityInterceptors(ctx: Context): ActivityInterceptors {
  if (ctx.info.activityType !== 'runStage') return {};
  // The factory runs once per activity execution: this attempt's stage, for its log lines.
  let s: StageInput | undefined;
  return {
    outbound: {
      getLogAttributes: (input, next) =>
        next(
          s
            ? {
                ...input,
                runId: ctx.info.workflowExecution?.runId,
                pipeline: s.pipeline,
                ds: s.ds,
                stage: s.stageId,
                kind: s.kind,
              }
            : input,
        ),
    },
    inbound: {
      async execute(input, next) {
        const stage = input.args[0] as StageInput;
        s = stage;
        // On the stage's activity span when tracing is on (its interceptor wraps this one).
        traceAttributes({
          [A.pipeline]: stage.pipeline,
          [A.ds]: stage.ds,
          [A.stage]: stage.stageId,
          [A.kind]: stage.kind,
          [A.attempt]: ctx.info.attempt,
        });
        const waitedMs = Math.max(0, Date.now() - ctx.info.currentAttemptScheduledTimestampMs);
        ctx.log.info('stage attempt started', {
          ...emfFields(Date.now(), { [EMF_DIMENSIONS.kind]: stage.kind }, [[], [EMF_DIMENSIONS.kind]], {
            [EMF_METRICS.scheduleToStart]: { value: waitedMs, unit: 'Milliseconds' },
          }),
          attempt: ctx.info.attempt,
        });
        let outcome: AttemptOutcome = 'succeeded';
        let jobId: string | undefined;
        let error: { error: string; errorType?: string } | undefined;
        let result: StageResult | undefined;
        try {
          result = (await next(input)) as StageResult;
          jobId = result.jobId;
          return result;
        } catch (err) {
          outcome = attemptOutcome(err, ctx.cancellationDetails?.cancelRequested ?? false);
          const details =
            err instanceof ApplicationFailure ? (err.details?.[0] as { jobId?: string } | undefined) : undefined;
          jobId = details?.jobId;
          // What went wrong, on the line an operator reads first (AWS's message, the job's end state).
          // Bounded: a stage's error can quote a long AWS message.
          error = {
            error: (err instanceof Error ? err.message : String(err)).slice(0, 2000),
            ...(err instanceof ApplicationFailure && err.type ? { errorType: err.type } : {}),
          };
          throw err;
        } finally {
          traceAttributes({ [A.outcome]: outcome, ...(jobId ? { [A.jobId]: jobId } : {}) });
          const now = Date.now();
          const seconds = (now - ctx.info.scheduledTimestampMs) / 1000;
          const tags = { pipeline: stage.pipeline, kind: stage.kind, outcome };
          try {
            const { attempts, duration } = instrumentsOf(ctx.metricMeter);
            attempts.add(1, tags);
            duration.record(seconds, tags);
          } catch {
            // Metrics must never fail a stage.
          }
          // Succeeded and failed are the stage's end (CloudWatch counts them); errors are retried.
          const final = outcome === 'succeeded' || outcome === 'failed';
          const fields = final
            ? emfFields(
                now,
                { [EMF_DIMENSIONS.pipeline]: stage.pipeline, [EMF_DIMENSIONS.kind]: stage.kind },
                [[EMF_DIMENSIONS.pipeline, EMF_DIMENSIONS.kind], [EMF_DIMENSIONS.kind]],
                {
                  [EMF_METRICS.stageSucceeded]: { value: outcome === 'succeeded' ? 1 : 0, unit: 'Count' },
                  [EMF_METRICS.stageFailed]: { value: outcome === 'failed' ? 1 : 0, unit: 'Count' },
                  [EMF_METRICS.stageDuration]: { value: seconds, unit: 'Seconds' },
                  ...costMetrics(result),
                },
              )
            : {};
          ctx.log[outcome === 'succeeded' ? 'info' : 'warn'](`stage attempt ${outcome}`, {
            ...fields,
            outcome,
            attempt: ctx.info.attempt,
            durationSeconds: seconds,
            ...(jobId ? { jobId } : {}),
            ...error,
          });
        }
      },
    },
  };
}
