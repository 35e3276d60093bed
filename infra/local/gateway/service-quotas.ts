/**
 * Service Quotas (awsJson 1.1, X-Amz-Target `ServiceQuotasV20190624.<op>`): the account quotas the
 * gateway enforces are read here as on AWS. GetServiceQuota for EMR Serverless's "Max concurrent
 * vCPUs" (emr-serverless / L-D05C8A75) answers the limit set for the request's Region with
 * POST /_sluice/limits (emrServerless.maxConcurrentVcpus), else AWS's default 16;
 * GetAWSDefaultServiceQuota answers 16. Every other quota is moto's to answer.
 */
import { AwsError, isObject, requireString, type ApiEmulator, type HandlerContext, type JsonObject } from './aws.js';
import { limitFor } from './capacity.js';
import { regionOf } from './events.js';
import { EMR_SERVERLESS_VCPU_QUOTA as VCPU } from '../../../common/emr-serverless-capacity.js';

const TARGET_PREFIX = 'ServiceQuotasV20190624';
const ILLEGAL = 'IllegalArgumentException';
const ACCOUNT = '123456789012';

function isVcpuQuota(input: JsonObject): boolean {
  return (
    requireString(input, 'ServiceCode', ILLEGAL) === VCPU.serviceCode &&
    requireString(input, 'QuotaCode', ILLEGAL) === VCPU.quotaCode
  );
}

function vcpuQuota(region: string, value: number): JsonObject {
  return {
    Quota: {
      ServiceCode: VCPU.serviceCode,
      ServiceName: 'Amazon EMR Serverless',
      QuotaArn: `arn:aws:servicequotas:${region}:${ACCOUNT}:${VCPU.serviceCode}/${VCPU.quotaCode}`,
      QuotaCode: VCPU.quotaCode,
      QuotaName: VCPU.quotaName,
      Value: value,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    },
  };
}

/** moto's answer for the quotas the gateway does not own. */
async function fromMoto(operation: string, input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json(`${TARGET_PREFIX}.${operation}`, input, ctx.headers);
  if (status === 200 && isObject(body)) return body;
  const b = isObject(body) ? body : {};
  const code = typeof b.__type === 'string' ? b.__type.split('#').pop()! : 'NoSuchResourceException';
  const message = typeof b.message === 'string' ? b.message : typeof b.Message === 'string' ? b.Message : '';
  throw new AwsError(code, message || `${operation} on moto failed with HTTP ${status}`, status >= 400 ? status : 500);
}

export const serviceQuotas: ApiEmulator = {
  service: 'servicequotas',
  targetPrefix: TARGET_PREFIX,
  operations: {
    async GetServiceQuota(input, ctx) {
      if (!isVcpuQuota(input)) return fromMoto('GetServiceQuota', input, ctx);
      const region = regionOf(ctx.headers) ?? 'us-east-1';
      return vcpuQuota(region, limitFor(region, 'emrServerless', 'maxConcurrentVcpus') ?? VCPU.defaultValue);
    },
    async GetAWSDefaultServiceQuota(input, ctx) {
      if (!isVcpuQuota(input)) return fromMoto('GetAWSDefaultServiceQuota', input, ctx);
      return vcpuQuota(regionOf(ctx.headers) ?? 'us-east-1', VCPU.defaultValue);
    },
  },
  reset: () => undefined,
};
