import { defineKind } from '../types';

export const quicksightRefresh = defineKind({
  kind: 'quicksight.refresh',
  states: {
    INITIALIZED: 'running',
    QUEUED: 'running',
    RUNNING: 'running',
    COMPLETED: 'succeeded',
    FAILED: 'failed',
    CANCELLED: 'stopped',
  },
  events: { none: 'QuickSight sends no ingestion events: the ingestion is polled' },
  usage: { none: 'SPICE ingestion is billed by capacity, not per refresh' },
  stop: 'QuickSight CancelIngestion',
  iam: ['quicksight:CancelIngestion', 'quicksight:CreateIngestion', 'quicksight:DescribeIngestion'],
  api: 'QuickSight CreateIngestion',
  outputs: ['ingestionId', 'dataSetId', 'rowsIngested', 'rowsDropped', 'seconds'],
  required: [
    { field: 'AwsAccountId', hint: 'the 12-digit AWS account id that owns the data set' },
    { field: 'DataSetId', hint: 'the id of the SPICE data set to refresh' },
  ],
  reserved: [
    {
      field: 'IngestionId',
      why: 'Sluice derives it from the stage idempotency key so a retry adopts the ingestion instead of starting another',
    },
  ],
  grants: ({ p, g, arn, str, region }) => {
    const ds = arn('quicksight', `dataset/${str(p, 'DataSetId')!}`, region, str(p, 'AwsAccountId'));
    return [
      g(
        ['quicksight:CreateIngestion', 'quicksight:DescribeIngestion', 'quicksight:CancelIngestion'],
        [ds, `${ds}/ingestion/*`],
      ),
    ];
  },
});
