import { defineKind } from '../types';

export const sfnExecution = defineKind({
  kind: 'sfn.execution',
  states: {
    RUNNING: 'running',
    PENDING_REDRIVE: 'running',
    SUCCEEDED: 'succeeded',
    FAILED: 'failed',
    TIMED_OUT: 'timeout',
    ABORTED: 'stopped',
  },
  events: [
    {
      source: 'aws.states',
      detailType: 'Step Functions Execution Status Change',
      stateField: 'status',
      ids: ['executionArn'],
    },
  ],
  usage: { none: 'DescribeExecution reports no billed state transitions' },
  stop: 'Step Functions StopExecution',
  iam: ['states:DescribeExecution', 'states:StartExecution', 'states:StopExecution'],
  api: 'Step Functions StartExecution',
  outputs: ['executionArn', 'output', 'outputPreview', 'outputChars'],
  required: [
    {
      field: 'stateMachineArn',
      hint: 'the ARN of the state machine, arn:aws:states:<region>:<account>:stateMachine:<name>',
    },
  ],
  reserved: [
    {
      field: 'name',
      why: 'Sluice derives the execution name from the stage idempotency key: that name is what makes the start idempotent',
    },
  ],
  grants: ({ p, g, str }) => {
    const sm = str(p, 'stateMachineArn')!;
    const execs = sm.replace(':stateMachine:', ':execution:') + ':*';
    return [g(['states:StartExecution'], [sm]), g(['states:DescribeExecution', 'states:StopExecution'], [execs])];
  },
});
