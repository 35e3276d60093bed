/**
 * How many EMR Serverless job runs fit at once: the vCPUs one Spark run takes (from its
 * sparkSubmitParameters, else EMR Serverless's defaults), and the slots that leaves under the
 * account's vCPU quota and the application's maximum capacity. Pure: used by the worker
 * (kinds/emr-serverless-job/handler.ts, a default pool's slots) and by the local gateway (which
 * refuses starts past the quota as AWS does), so both count a run the same way.
 */

/**
 * EMR Serverless's default Spark worker sizes and count, from AWS's "Spark job properties" table
 * (EMR Serverless User Guide, "Using Spark configurations when you run EMR Serverless jobs",
 * https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/jobs-spark.html#spark-defaults):
 * `spark.driver.cores` 4, `spark.executor.cores` 4, `spark.executor.instances` 3 — a run without
 * settings of its own starts 4 + 3 × 4 = 16 vCPUs. Dynamic allocation (on by default) may add
 * executors later; the application's maximumCapacity bounds what it can take in all.
 */
export const EMR_SERVERLESS_SPARK_DEFAULTS = { driverCores: 4, executorCores: 4, executorInstances: 3 } as const;

/** Service Quotas: EMR Serverless's "Max concurrent vCPUs" per account and Region, and AWS's default value. */
export const EMR_SERVERLESS_VCPU_QUOTA = {
  serviceCode: 'emr-serverless',
  quotaCode: 'L-D05C8A75',
  quotaName: 'Max concurrent vCPUs',
  defaultValue: 16,
} as const;

export interface RunVcpus {
  /** driverCores + executorInstances × executorCores */
  vcpus: number;
  driverCores: number;
  executorCores: number;
  executorInstances: number;
}

/** A positive whole number from a Spark setting, else undefined. */
function count(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}

/**
 * The Spark settings of a `sparkSubmitParameters` string: `--conf key=value` (or `--conf=key=value`)
 * and spark-submit's own `--driver-cores`, `--executor-cores`, `--num-executors` (as their
 * spark.* equivalents). Later settings win, as spark-submit's do.
 */
export function sparkSubmitSettings(sparkSubmitParameters: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof sparkSubmitParameters !== 'string') return out;
  const flags: Record<string, string> = {
    '--driver-cores': 'spark.driver.cores',
    '--executor-cores': 'spark.executor.cores',
    '--num-executors': 'spark.executor.instances',
  };
  const tokens = sparkSubmitParameters
    .trim()
    .split(/\s+/)
    .map((t) => t.replace(/^["']|["']$/g, ''));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    let setting: string | undefined;
    if (t === '--conf' || t === '-c') setting = tokens[++i];
    else if (t.startsWith('--conf=')) setting = t.slice('--conf='.length);
    else {
      const [flag, inline] = t.split('=', 2) as [string, string | undefined];
      const key = flags[flag];
      if (key !== undefined) out.set(key, inline ?? tokens[++i] ?? '');
      continue;
    }
    const eq = setting?.indexOf('=') ?? -1;
    if (setting !== undefined && eq > 0) out.set(setting.slice(0, eq).trim(), setting.slice(eq + 1).trim());
  }
  return out;
}

/** The vCPUs one run takes when it starts: its driver plus its executors, each setting defaulting to EMR Serverless's. */
export function sparkRunVcpus(sparkSubmitParameters: unknown): RunVcpus {
  const s = sparkSubmitSettings(sparkSubmitParameters);
  const d = EMR_SERVERLESS_SPARK_DEFAULTS;
  const driverCores = count(s.get('spark.driver.cores')) ?? d.driverCores;
  const executorCores = count(s.get('spark.executor.cores')) ?? d.executorCores;
  const executorInstances = count(s.get('spark.executor.instances')) ?? d.executorInstances;
  return { vcpus: driverCores + executorInstances * executorCores, driverCores, executorCores, executorInstances };
}

/** The sparkSubmitParameters of a StartJobRun request's jobDriver (undefined for Hive or none). */
export function sparkSubmitParametersOf(jobDriver: unknown): unknown {
  if (jobDriver === null || typeof jobDriver !== 'object') return undefined;
  const spark = (jobDriver as { sparkSubmit?: unknown }).sparkSubmit;
  if (spark === null || typeof spark !== 'object') return undefined;
  return (spark as { sparkSubmitParameters?: unknown }).sparkSubmitParameters;
}

/** An application's maximumCapacity.cpu ("8 vCPU", "8vCPU", "8") in vCPUs; undefined when unset or unreadable. */
export function capacityCpu(cpu: unknown): number | undefined {
  if (typeof cpu !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:vcpu)?\s*$/i.exec(cpu);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}

export interface VcpuSlotsInput {
  /** The account's vCPU quota in the Region. */
  quota: number;
  /** Whether the quota was read from Service Quotas (else it is AWS's default). */
  quotaRead: boolean;
  /** The application's maximumCapacity.cpu in vCPUs, if set. */
  appMaxCpu?: number;
  run: RunVcpus;
}

/**
 * Runs at once under the vCPU bounds: max(1, floor(min(quota, app max cpu) / vCPU per run)), and
 * where the number came from, for people.
 */
export function vcpuSlots(input: VcpuSlotsInput): { slots: number; source: string } {
  const { quota, appMaxCpu, run } = input;
  const byApp = appMaxCpu !== undefined && appMaxCpu < quota;
  const bound = byApp ? appMaxCpu : quota;
  const slots = Math.max(1, Math.floor(bound / run.vcpus));
  const perRun = `${run.vcpus} vCPU per run (driver ${run.driverCores} + ${run.executorInstances} × ${run.executorCores} executor)`;
  const q = EMR_SERVERLESS_VCPU_QUOTA;
  const what = byApp
    ? `EMR Serverless application maximumCapacity.cpu ${appMaxCpu} vCPU`
    : input.quotaRead
      ? `EMR Serverless account vCPU quota ${quota} (${q.quotaCode})`
      : `EMR Serverless's default account vCPU quota ${quota} (${q.quotaCode}, not readable)`;
  return { slots, source: `${what} ÷ ${perRun}` };
}
