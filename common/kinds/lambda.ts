import { defineKind } from './types';

export const lambdaInvoke = defineKind({
  kind: 'lambda.invoke',
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
    return [g(['lambda:InvokeFunction'], [qualifier ? `${base}:${qualifier}` : base])];
  },
});
