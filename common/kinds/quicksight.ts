import { defineKind } from './types';

export const quicksightRefresh = defineKind({
  kind: 'quicksight.refresh',
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
