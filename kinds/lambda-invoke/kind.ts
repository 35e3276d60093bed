import { defineKind } from '../types';

export const lambdaInvoke = defineKind({
  kind: 'lambda.invoke',
  states: { none: 'one synchronous Invoke: its answer is the outcome' },
  events: { none: 'one call, nothing to wait for' },
  usage: { prices: 'lambda', figures: 'the Invoke log tail: Billed Duration and Memory Size' },
  stop: { none: 'a synchronous Invoke cannot be stopped; the cancel abandons the call' },
  iam: ['lambda:GetAccountSettings', 'lambda:GetFunctionConcurrency', 'lambda:InvokeFunction'],
  // A function with reserved concurrency runs at most that many invocations at once.
  defaultPool: (p) => (typeof p.FunctionName === 'string' ? `lambda:${lambdaFunctionName(p.FunctionName)}` : undefined),
  api: 'Lambda Invoke',
  outputs: [
    'payload',
    'payloadBytes',
    'payloadTruncated',
    'StatusCode',
    'ExecutedVersion',
    'functionName',
    'requestId',
  ],
  required: [{ field: 'FunctionName', hint: 'the function name, ARN, or name:alias' }],
  reserved: [
    {
      field: 'InvocationType',
      why: 'Sluice invokes with RequestResponse and waits for the answer, so a FunctionError fails the stage',
    },
  ],
  grants: ({ p, g, arn, str }) => {
    const fn = str(p, 'FunctionName')!;
    const qualifier = str(p, 'Qualifier');
    const base = fn.startsWith('arn:') ? fn : arn('lambda', `function:${fn}`);
    return [
      g(['lambda:InvokeFunction'], [qualifier ? `${base}:${qualifier}` : base]),
      // The function's reserved concurrency, else the account's: the slots of its default pool.
      g(['lambda:GetFunctionConcurrency'], [base]),
      g(['lambda:GetAccountSettings'], ['*']),
    ];
  },
});

/** "my-fn", "my-fn:prod", "arn:aws:lambda:us-east-1:123456789012:function:my-fn:1" → "my-fn". */
export function lambdaFunctionName(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  const i = parts.indexOf('function');
  return i >= 0 && parts[i + 1] !== undefined ? parts[i + 1]! : (parts[0] ?? nameOrArn);
}
