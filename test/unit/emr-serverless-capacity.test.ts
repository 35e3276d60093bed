/** The vCPUs of an EMR Serverless run and the slots they leave under the account's quota and the application's maximum capacity. */
import {
  EMR_SERVERLESS_VCPU_QUOTA,
  capacityCpu,
  sparkRunVcpus,
  sparkSubmitParametersOf,
  sparkSubmitSettings,
  vcpuSlots,
} from '../../common/emr-serverless-capacity';

describe('sparkRunVcpus', () => {
  test("a run without settings takes EMR Serverless's defaults: driver 4 + 3 executors × 4 = 16 vCPUs", () => {
    expect(sparkRunVcpus(undefined)).toEqual({ vcpus: 16, driverCores: 4, executorCores: 4, executorInstances: 3 });
    expect(sparkRunVcpus('')).toMatchObject({ vcpus: 16 });
    expect(sparkRunVcpus('--class com.example.Main --conf spark.executor.memory=8g')).toMatchObject({ vcpus: 16 });
  });

  test('--conf settings replace the defaults one by one', () => {
    expect(
      sparkRunVcpus('--conf spark.driver.cores=1 --conf spark.executor.cores=1 --conf spark.executor.instances=1'),
    ).toEqual({ vcpus: 2, driverCores: 1, executorCores: 1, executorInstances: 1 });
    expect(sparkRunVcpus('--conf spark.executor.instances=10')).toMatchObject({ vcpus: 4 + 10 * 4 });
    expect(sparkRunVcpus('--conf spark.driver.cores=2 --conf spark.executor.cores=8')).toMatchObject({
      vcpus: 2 + 3 * 8,
    });
  });

  test("spark-submit's own flags, --conf=, -c and quoted settings count; the last setting wins", () => {
    expect(sparkRunVcpus('--driver-cores 2 --executor-cores 2 --num-executors 5')).toMatchObject({ vcpus: 12 });
    expect(sparkRunVcpus('--conf=spark.executor.instances=2 -c spark.driver.cores=1')).toMatchObject({ vcpus: 9 });
    expect(sparkRunVcpus('--conf "spark.executor.instances=1"')).toMatchObject({ vcpus: 8 });
    expect(sparkRunVcpus('--conf spark.executor.instances=1 --conf spark.executor.instances=2')).toMatchObject({
      executorInstances: 2,
    });
  });

  test('values that are not positive whole numbers (templates, 0, junk) keep the default', () => {
    expect(sparkRunVcpus('--conf spark.executor.instances=0 --conf spark.driver.cores=abc')).toMatchObject({
      vcpus: 16,
    });
    expect(sparkRunVcpus('--conf spark.executor.cores={{ params.cores }}')).toMatchObject({ executorCores: 4 });
    expect(sparkRunVcpus(42)).toMatchObject({ vcpus: 16 });
  });
});

test('sparkSubmitSettings reads key=value pairs; values may hold "="', () => {
  const s = sparkSubmitSettings('--conf spark.hadoop.x=a=b --conf spark.driver.cores=3 --conf');
  expect(s.get('spark.hadoop.x')).toBe('a=b');
  expect(s.get('spark.driver.cores')).toBe('3');
});

test('sparkSubmitParametersOf: the Spark driver only', () => {
  expect(sparkSubmitParametersOf({ sparkSubmit: { entryPoint: 's3://a', sparkSubmitParameters: '--conf x=1' } })).toBe(
    '--conf x=1',
  );
  expect(sparkSubmitParametersOf({ hive: { query: 'select 1' } })).toBeUndefined();
  expect(sparkSubmitParametersOf(undefined)).toBeUndefined();
});

test('capacityCpu reads maximumCapacity.cpu as AWS writes it', () => {
  expect(capacityCpu('8 vCPU')).toBe(8);
  expect(capacityCpu('400vCPU')).toBe(400);
  expect(capacityCpu('16')).toBe(16);
  expect(capacityCpu('0 vCPU')).toBeUndefined();
  expect(capacityCpu('lots')).toBeUndefined();
  expect(capacityCpu(undefined)).toBeUndefined();
});

describe('vcpuSlots', () => {
  const run = sparkRunVcpus(
    '--conf spark.driver.cores=2 --conf spark.executor.cores=2 --conf spark.executor.instances=3',
  );

  test('the quota divided by the vCPUs of a run, rounded down, saying where it came from', () => {
    expect(run.vcpus).toBe(8);
    expect(vcpuSlots({ quota: 16, quotaRead: true, run })).toEqual({
      slots: 2,
      source: 'EMR Serverless account vCPU quota 16 (L-D05C8A75) ÷ 8 vCPU per run (driver 2 + 3 × 2 executor)',
    });
    expect(vcpuSlots({ quota: 100, quotaRead: true, run }).slots).toBe(12);
  });

  test("AWS's default quota when it could not be read, and says so", () => {
    const got = vcpuSlots({ quota: EMR_SERVERLESS_VCPU_QUOTA.defaultValue, quotaRead: false, run });
    expect(got.slots).toBe(2);
    expect(got.source).toBe(
      "EMR Serverless's default account vCPU quota 16 (L-D05C8A75, not readable) ÷ 8 vCPU per run (driver 2 + 3 × 2 executor)",
    );
  });

  test("the application's maximumCapacity.cpu bounds the total when it is lower than the quota", () => {
    expect(vcpuSlots({ quota: 64, quotaRead: true, appMaxCpu: 24, run })).toEqual({
      slots: 3,
      source: 'EMR Serverless application maximumCapacity.cpu 24 vCPU ÷ 8 vCPU per run (driver 2 + 3 × 2 executor)',
    });
    expect(vcpuSlots({ quota: 16, quotaRead: true, appMaxCpu: 400, run }).slots).toBe(2);
  });

  test('at least one slot, even when one run needs more than the bound', () => {
    expect(
      vcpuSlots({ quota: 16, quotaRead: true, run: sparkRunVcpus('--conf spark.executor.instances=10') }).slots,
    ).toBe(1);
    expect(vcpuSlots({ quota: 16, quotaRead: true, appMaxCpu: 4, run }).slots).toBe(1);
  });
});
