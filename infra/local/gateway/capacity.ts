/**
 * Capacity: how much may run at once, as AWS refuses past it, and counters of what ran.
 *
 * Limits that belong to a resource are read from it, as AWS does: a Glue job's
 * ExecutionProperty.MaxConcurrentRuns, a Lambda function's reserved concurrency. Limits that belong
 * to the account are service quotas no API sets, so tests set them here (POST /_sluice/limits):
 *  - athena.activeQueries     Athena's "Active DML queries" quota (running + queued DML queries)
 *  - athena.activeDdlQueries  its "Active DDL queries" quota (running + queued DDL queries)
 *  - lambda.unreservedConcurrency  the account's unreserved concurrency: invocations in flight at
 *                                  once of all functions without reserved concurrency
 *  - emrServerless.maxConcurrentVcpus  EMR Serverless's "Max concurrent vCPUs" quota (L-D05C8A75):
 *                                  the vCPUs of the account's job runs at once (queued or running),
 *                                  also what Service Quotas GetServiceQuota answers (AWS's default
 *                                  16 when unset, though unset enforces nothing)
 * A quota is per account and Region on AWS, so a limit is set for one Region or (no region) for
 * every Region; the Region's own value wins. Unset means unlimited, so nothing changes for tests
 * that set none, and a test that sets one for a Region of its own is not disturbed by (and does not
 * disturb) the tests sharing the gateway.
 *
 * Counters (GET /_sluice/capacity), per service and resource (Glue job name, Athena
 * "DML/<region>" or "DDL/<region>", Lambda function name, EMR Serverless application id — its
 * `limit` is the account's vCPU limit, in vCPUs, not runs): runs or invocations active now, the peak
 * active since the counters were last cleared, the starts accepted and the starts refused for
 * capacity. Active counts come from the emulators (derived from their runs on read, like their
 * states), so a run that ends is no longer active without anything ticking; the peak is taken at
 * each accepted start, the only moment the count goes up.
 */
import { isObject } from './aws.js';

export interface AthenaLimits {
  activeQueries?: number;
  activeDdlQueries?: number;
}

export interface LambdaLimits {
  unreservedConcurrency?: number;
}

export interface EmrServerlessLimits {
  maxConcurrentVcpus?: number;
}

export interface Limits {
  athena?: AthenaLimits;
  lambda?: LambdaLimits;
  emrServerless?: EmrServerlessLimits;
}

/** Limits by Region; ANY_REGION holds those set without one. */
const ANY_REGION = '*';
const LIMIT_KEYS = {
  athena: ['activeQueries', 'activeDdlQueries'],
  lambda: ['unreservedConcurrency'],
  emrServerless: ['maxConcurrentVcpus'],
} as const;
type LimitService = keyof typeof LIMIT_KEYS;

let limits = new Map<string, Limits>();

/** The limit in force in `region` (its own, else the one for every Region); undefined = unlimited. */
export function limitFor<S extends LimitService>(
  region: string,
  service: S,
  key: (typeof LIMIT_KEYS)[S][number],
): number | undefined {
  const own = (limits.get(region)?.[service] as Record<string, number> | undefined)?.[key];
  return own ?? (limits.get(ANY_REGION)?.[service] as Record<string, number> | undefined)?.[key];
}

/** GET /_sluice/limits: {"*": {...}, "eu-west-3": {...}}, Regions without limits left out. */
export function listLimits(): Record<string, Limits> {
  return Object.fromEntries(limits);
}

export function clearLimits(): void {
  limits = new Map();
}

/**
 * Validates and applies a POST /_sluice/limits body, e.g.
 * `{"region": "eu-west-3", "athena": {"activeQueries": 2}, "lambda": {"unreservedConcurrency": null}}`:
 * a whole number >= 0 sets a limit, null removes it (back to unlimited), keys not given are kept.
 * Returns an error message, or undefined when applied (nothing is applied on error).
 */
export function applyLimits(body: unknown): string | undefined {
  if (!isObject(body)) return 'body must be a JSON object, e.g. {"athena": {"activeQueries": 2}}';
  const region = body.region ?? ANY_REGION;
  if (typeof region !== 'string' || region === '')
    return 'region must be a non-empty string (omit it for every Region)';
  const changes: [LimitService, string, number | null][] = [];
  for (const [service, value] of Object.entries(body)) {
    if (service === 'region') continue;
    if (!Object.hasOwn(LIMIT_KEYS, service))
      return `unknown service ${JSON.stringify(service)}: limits are set for ${Object.keys(LIMIT_KEYS).join(', ')}`;
    const keys: readonly string[] = LIMIT_KEYS[service as LimitService];
    if (!isObject(value)) return `${service} must be an object, e.g. {"${keys[0]}": 2}`;
    for (const [key, n] of Object.entries(value)) {
      if (!keys.includes(key)) return `unknown ${service} limit ${JSON.stringify(key)}: one of ${keys.join(', ')}`;
      if (n !== null && (typeof n !== 'number' || !Number.isInteger(n) || n < 0))
        return `${service}.${key} must be a whole number >= 0, or null to remove it`;
      changes.push([service as LimitService, key, n]);
    }
  }
  const entry = limits.get(region) ?? {};
  for (const [service, key, n] of changes) {
    const forService: Record<string, number> = { ...entry[service] };
    if (n === null) delete forService[key];
    else forService[key] = n;
    if (Object.keys(forService).length === 0) delete entry[service];
    else entry[service] = forService;
  }
  if (Object.keys(entry).length === 0) limits.delete(region);
  else limits.set(region, entry);
  return undefined;
}

// ---------------------------------------------------------------- counters

export interface CapacityView {
  /** Runs (Glue, Athena) or invocations (Lambda) active now. */
  active: number;
  /** The most active at once since the counters were last cleared. */
  peak: number;
  /** Starts the service accepted (an idempotent retry returning an existing run is not one). */
  accepted: number;
  /** Starts refused because the limit was reached. */
  refused: number;
  /** The limit that applied to the last start, if there was one. */
  limit?: number;
}

interface Counter {
  peak: number;
  accepted: number;
  refused: number;
  limit?: number;
}

/** Per service: the active count of each resource with anything active at `now`. */
export type ActiveCounts = (now: number) => Map<string, number>;

const counters = new Map<string, Map<string, Counter>>();
const activeProviders = new Map<string, ActiveCounts>();

/** Each emulator with limits tells how many of its runs are active, per resource. */
export function registerActive(service: string, counts: ActiveCounts): void {
  activeProviders.set(service, counts);
}

function counter(service: string, resource: string): Counter {
  let byResource = counters.get(service);
  if (byResource === undefined) {
    byResource = new Map<string, Counter>();
    counters.set(service, byResource);
  }
  let c = byResource.get(resource);
  if (c === undefined) {
    c = { peak: 0, accepted: 0, refused: 0 };
    byResource.set(resource, c);
  }
  return c;
}

function noteLimit(c: Counter, limit: number | undefined): void {
  if (limit === undefined) delete c.limit;
  else c.limit = limit;
}

/** An accepted start; `active` counts the resource's active runs including this one. */
export function countStart(service: string, resource: string, active: number, limit?: number): void {
  const c = counter(service, resource);
  c.accepted++;
  c.peak = Math.max(c.peak, active);
  noteLimit(c, limit);
}

/** A start refused because `limit` was reached. */
export function countRefusal(service: string, resource: string, limit?: number): void {
  const c = counter(service, resource);
  c.refused++;
  noteLimit(c, limit);
}

/** GET /_sluice/capacity: {service: {resource: CapacityView}}. */
export function capacityReport(now: number): Record<string, Record<string, CapacityView>> {
  const out: Record<string, Record<string, CapacityView>> = {};
  const services = new Set([...counters.keys(), ...activeProviders.keys()]);
  for (const service of services) {
    const active = activeProviders.get(service)?.(now) ?? new Map<string, number>();
    const byResource = counters.get(service) ?? new Map<string, Counter>();
    const resources = new Set([...byResource.keys(), ...active.keys()]);
    if (resources.size === 0) continue;
    const views: Record<string, CapacityView> = {};
    for (const resource of [...resources].sort()) {
      const c = byResource.get(resource) ?? { peak: 0, accepted: 0, refused: 0 };
      const a = active.get(resource) ?? 0;
      // Runs started before the counters were cleared still count towards the peak while active.
      const view: CapacityView = { active: a, peak: Math.max(c.peak, a), accepted: c.accepted, refused: c.refused };
      if (c.limit !== undefined) view.limit = c.limit;
      views[resource] = view;
    }
    out[service] = views;
  }
  return out;
}

/** DELETE /_sluice/capacity (and POST /_sluice/reset): the counters only, not the limits. */
export function clearCounters(): void {
  counters.clear();
}
