/**
 * Generic job-run state machine, driven by the wall clock.
 *
 * Why wall-clock and "derived on read": a run stores only when it started, what it should do
 * (its scenario) and when a stop was requested. Its state is computed each time it is described.
 * No timers, nothing to tick, no races with the poller, and restarts of the caller (a Temporal
 * worker re-polling after a crash) see exactly what AWS would show at that moment.
 *
 * Each emulated service plugs in its own state names (Glue STARTING/RUNNING/STOPPING/STOPPED,
 * Athena QUEUED/RUNNING/CANCELLED...) through a LifecycleSpec, so adding EMR steps, DataBrew runs,
 * SFN executions... is a table entry plus the request/response shapes.
 */

export type Outcome = 'SUCCEEDED' | 'FAILED' | 'TIMEOUT' | 'HANG';

/** Tabular query output (Athena). All values are strings (Athena returns VarCharValue) or null. */
export interface ResultTable {
  columns: string[];
  rows: (string | null)[][];
}

/** What a run does: run for durationMs, then end in `outcome` (HANG = run until stopped). */
export interface Scenario {
  durationMs: number;
  outcome: Outcome;
  message?: string;
  result?: ResultTable;
  /**
   * What the emulated job reports of its usage: Athena `bytesScanned`; EMR Serverless the capacity
   * it held (`vCPU`, `memoryGB`, `storageGB`), reported × its duration as resource utilization.
   */
  usage?: Record<string, number>;
  /** The run's state-change event (events.ts): emitted (default) or dropped, as a lost event. */
  events?: 'emit' | 'drop';
  /** Delay between the run's end and its event. */
  eventDelayMs?: number;
}

export interface LifecycleSpec {
  /** Initial state and how long it lasts (Glue STARTING, Athena QUEUED). */
  pending: { state: string; ms: number };
  running: string;
  /** Intermediate state after a stop request, if the service has one (Glue STOPPING). */
  stopping?: { state: string; ms: number };
  /** Terminal state after a stop (Glue STOPPED, Athena CANCELLED). */
  stopped: string;
  /** Terminal state name per outcome; outcomes missing here are rejected when scenarios are set. */
  outcomes: Partial<Record<Exclude<Outcome, 'HANG'>, string>>;
}

export interface Run {
  id: string;
  /** epoch ms */
  startedAt: number;
  scenario: Scenario;
  /** epoch ms of the first accepted stop request */
  stopRequestedAt?: number;
}

export interface RunView {
  state: string;
  terminal: boolean;
  /** epoch ms of the last state change (LastModifiedOn). */
  changedAt: number;
  /** epoch ms when the run reached its terminal state. */
  endedAt?: number;
  /** true when the run ended because it was stopped. */
  stopped: boolean;
  /** The scenario outcome that produced the terminal state (undefined while active or when stopped). */
  outcome?: Exclude<Outcome, 'HANG'>;
}

export function describeRun(spec: LifecycleSpec, run: Run, now: number): RunView {
  const { scenario, startedAt, stopRequestedAt } = run;
  const naturalEnd = scenario.outcome === 'HANG' ? Infinity : startedAt + scenario.durationMs;

  // A stop only counts if it arrived before the run finished on its own (it is refused otherwise).
  if (stopRequestedAt !== undefined && stopRequestedAt < naturalEnd) {
    const stopDone = stopRequestedAt + (spec.stopping?.ms ?? 0);
    if (now >= stopDone || spec.stopping === undefined) {
      return { state: spec.stopped, terminal: true, changedAt: stopDone, endedAt: stopDone, stopped: true };
    }
    return { state: spec.stopping.state, terminal: false, changedAt: stopRequestedAt, stopped: false };
  }
  if (scenario.outcome !== 'HANG' && now >= naturalEnd) {
    const state = spec.outcomes[scenario.outcome] ?? scenario.outcome;
    return {
      state,
      terminal: true,
      changedAt: naturalEnd,
      endedAt: naturalEnd,
      stopped: false,
      outcome: scenario.outcome,
    };
  }
  const runningAt = startedAt + spec.pending.ms;
  if (now < runningAt) return { state: spec.pending.state, terminal: false, changedAt: startedAt, stopped: false };
  return { state: spec.running, terminal: false, changedAt: runningAt, stopped: false };
}

/**
 * Requests a stop. Returns the view at request time: if it is terminal the stop was refused
 * (the caller maps that to the service's error); repeated stops keep the first request time.
 */
export function requestStop(spec: LifecycleSpec, run: Run, now: number): RunView {
  const view = describeRun(spec, run, now);
  if (!view.terminal && run.stopRequestedAt === undefined) run.stopRequestedAt = now;
  return view;
}

/** Valid outcomes for a spec (used to validate scenarios). */
export function allowedOutcomes(spec: LifecycleSpec): Outcome[] {
  return [...(Object.keys(spec.outcomes) as Outcome[]), 'HANG'];
}
